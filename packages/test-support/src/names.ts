import { randomUUID } from 'node:crypto'

export interface UniquePrefixOptions {
  /** What every name starts with, so leftovers are recognisable. Defaults to `cvtest`. */
  readonly stem?: string
  /** Between the parts. Defaults to `-` (Redis keys); the RabbitMQ tests use `.`. */
  readonly separator?: string
}

/** A key prefix or queue-name stem no other test (or engineer on the shared servers) uses: `cvtest-<label>-<8 hex>`. */
export function uniquePrefix(label: string, { stem = 'cvtest', separator = '-' }: UniquePrefixOptions = {}): string {
  return [stem, label, randomUUID().slice(0, 8)].join(separator)
}
