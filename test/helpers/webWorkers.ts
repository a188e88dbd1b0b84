// The web workers of a WEB_WORKERS site (src/cluster/webWorkers.ts), found from the outside.
import { readFile } from 'node:fs/promises'

/** The web workers' process ids by SEEDCAST_WORKER index (the primary's other children are not workers). */
export async function workerPids(primary: number): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  const children = await readFile(`/proc/${primary}/task/${primary}/children`, 'utf8').catch(() => '')
  for (const pid of children.split(' ').filter((p) => p.trim())) {
    const env = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '')
    const index = /(?:^|\0)SEEDCAST_WORKER=(\d+)\0/.exec(env)?.[1]
    if (index) out.set(index, Number(pid))
  }
  return out
}
