import type { CountOptions, GroupCount, GroupMember, WorkflowAdmission, WorkflowStore } from '@conveyor/core/adapter'
import type { RedisClient } from './options'
import { runScript } from './scripts'

/**
 * The keys of one workflow. All share the hash tag `{prefix:wf:id}`, so each script touches one cluster slot.
 *
 * | key            | type   | holds                                              |
 * | -------------- | ------ | -------------------------------------------------- |
 * | `…:plan`       | string | the plan JSON                                      |
 * | `…:revoked`    | string | present once the workflow was revoked              |
 * | `…:nonce`      | hash   | node id → the first publish admitted               |
 * | `…:g:<group>`  | hash   | failed count, settled, released                    |
 * | `…:o:<group>`  | hash   | member index → outcome JSON                        |
 */
function workflowKeys(prefix: string, id: string) {
  const tag = `{${prefix}:wf:${id}}`
  return {
    plan: `${tag}:plan`,
    revoked: `${tag}:revoked`,
    nonce: `${tag}:nonce`,
    group: (group: string) => `${tag}:g:${group}`,
    outcomes: (group: string) => `${tag}:o:${group}`,
  }
}

const ttl = (ms: number) => Math.max(1, Math.ceil(ms))

/** Workflow counting on Redis: counting and admission are Lua scripts (`wf-count`, `wf-admit`), atomic on the server. */
export function createRedisWorkflowStore(client: RedisClient, prefix: string): WorkflowStore {
  return {
    async putPlan(workflowId, plan, ttlMs) {
      await client.set(workflowKeys(prefix, workflowId).plan, plan, 'PX', ttl(ttlMs))
    },
    async getPlan(workflowId) {
      return (await client.get(workflowKeys(prefix, workflowId).plan)) ?? undefined
    },
    async admit(workflowId, nodeId, nonce, ttlMs) {
      const keys = workflowKeys(prefix, workflowId)
      const verdict = await runScript(client, 'wf-admit', [keys.revoked, keys.nonce], [nodeId, nonce ?? '', ttl(ttlMs)])
      return verdict as WorkflowAdmission
    },
    async countMember(workflowId, groupId, member: GroupMember, options: CountOptions): Promise<GroupCount> {
      const keys = workflowKeys(prefix, workflowId)
      const reply = (await runScript(
        client,
        'wf-count',
        [keys.group(groupId), keys.outcomes(groupId), keys.revoked],
        [
          member.index,
          member.outcome,
          member.failed ? '1' : '0',
          options.total,
          options.failFast ? '1' : '0',
          ttl(options.ttlMs),
        ],
      )) as [number, number, number, string, number, number, number]
      const [counted, done, failed, settled, now, pending, revoked] = reply
      return {
        counted: counted === 1,
        done,
        failed,
        ...(settled === 'succeeded' || settled === 'failed' ? { settled } : {}),
        settledNow: now === 1,
        pending: pending === 1,
        revoked: revoked === 1,
      }
    },
    async outcomes(workflowId, groupId, total) {
      const stored = await client.hgetall(workflowKeys(prefix, workflowId).outcomes(groupId))
      return Array.from({ length: total }, (_, index) => stored[String(index)])
    },
    async release(workflowId, groupId) {
      await client.hset(workflowKeys(prefix, workflowId).group(groupId), 'released', '1')
    },
    async revoke(workflowId, ttlMs) {
      await client.set(workflowKeys(prefix, workflowId).revoked, '1', 'PX', ttl(ttlMs))
    },
  }
}
