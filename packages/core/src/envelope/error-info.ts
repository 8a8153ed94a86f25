import type { ErrorInfo } from '../contracts/dead-letter'

/** Turn anything thrown into the serializable `ErrorInfo` that results and dead letters store. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return {
      name: error.name,
      message: error.message,
      ...(error.stack ? { stack: error.stack } : {}),
      ...(typeof code === 'string' ? { code } : {}),
    }
  }
  return { name: 'NonError', message: typeof error === 'string' ? error : safeString(error) }
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
