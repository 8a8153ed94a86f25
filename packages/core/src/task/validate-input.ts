import { ValidationError } from '../errors/validation-error'
import type { StandardSchemaV1 } from './standard-schema'

function describeIssue(issue: StandardSchemaV1.Issue): string {
  const path = issue.path
    ?.map((segment) => String(typeof segment === 'object' && segment !== null ? segment.key : segment))
    .join('.')
  return path ? `${path}: ${issue.message}` : issue.message
}

/** Run a Standard Schema validator; resolves with its output value or rejects with `ValidationError`. */
export async function validateInput<T>(task: string, schema: StandardSchemaV1<unknown, T>, input: unknown): Promise<T> {
  const result = await schema['~standard'].validate(input)
  if (result.issues) {
    throw new ValidationError(`input of task "${task}" is invalid: ${result.issues.map(describeIssue).join('; ')}`)
  }
  return result.value
}
