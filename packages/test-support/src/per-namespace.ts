/** One value per namespace, made on first use; `drop` fits the suite's `cleanup` hook. */
export function perNamespace<T>(make: () => T) {
  const values = new Map<string, T>()
  return {
    get(namespace: string): T {
      const existing = values.get(namespace)
      if (existing !== undefined) return existing
      const made = make()
      values.set(namespace, made)
      return made
    },
    async drop({ namespace }: { namespace: string }): Promise<void> {
      values.delete(namespace)
    },
  }
}
