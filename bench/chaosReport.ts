/** The chaos report as text: what was thrown at the service, what became of every pod, and the verdict. */
import type { ChaosReport } from "./chaosRun.ts"

const seconds = (ms: number | undefined) => (ms === undefined ? "did not finish" : `${(ms / 1000).toFixed(1)} s`)
const mark = (ok: boolean) => (ok ? "ok" : "FAIL")
const counts = (record: Readonly<Record<string, number>>) =>
  Object.entries(record).length === 0 ? "none" : Object.entries(record).map(([k, n]) => `${k} ${n}`).join(", ")

export const formatReport = (r: ChaosReport): string => {
  const lines: Array<string> = []
  lines.push(
    `chaos seed ${r.seed}  plan ${r.planHash}  ${r.pods} pods on ${r.nodes} nodes in ${r.namespaces.length} namespaces (${
      r.namespaces.join(", ")
    })`,
    `fault window ${seconds(r.faultWindowMs)}, settled ${r.converged ? "in" : "NOT within"} ${seconds(r.settleMs)}, total ${seconds(r.elapsedMs)}`,
    "",
    `faults injected (${r.faultsTotal}):`
  )
  const kinds = Object.entries(r.faults)
  for (let i = 0; i < kinds.length; i += 6) {
    lines.push(`  ${kinds.slice(i, i + 6).map(([k, n]) => `${k} ${n}`).join(" | ")}`)
  }
  lines.push(
    `  exec connections faulted by the simulator: ${counts(r.execFaultsApplied)}`,
    `  error answers sent (injected and real): ${counts(r.errorAnswers)} of ${r.requests} requests`,
    "",
    `ledger: cleaned ${r.ledger.cleaned} / accounted ${r.ledger.accounted} / LOST ${r.ledger.lost}`
  )
  for (const [reason, n] of r.ledger.reasons.slice(0, 6)) lines.push(`  ${String(n).padStart(5)} × ${reason}`)
  if (r.ledger.reasons.length > 6) lines.push(`  ... and ${r.ledger.reasons.length - 6} other reason(s)`)
  for (const pod of r.ledger.lostPods) {
    lines.push(`  LOST ${pod.namespace}/${pod.name} on ${pod.node} (should ${pod.expect}): ${pod.state}`)
    for (const o of pod.outcomes) lines.push(`       ${o}`)
    if (pod.outcomes.length === 0) lines.push("       no outcome recorded")
  }
  lines.push(
    `actions: ${r.outcomes.done} done, ${r.outcomes.skipped} skipped, ${r.outcomes.failed} failed; service log lines: ${counts(r.logLines)}`,
    "",
    `${mark(r.ledger.lost === 0)}  lost pods: ${r.ledger.lost}`,
    `${mark(r.execOpenAtEnd === 0 && r.execOpenAfterStop === 0)}  exec sockets open: ${r.execOpenAtEnd} at the end, ` +
      `${r.execOpenAfterStop} after stop (watches after stop: ${r.watchOpenAfterStop})`,
    `${mark(r.unhandledRejections.length === 0)}  unhandled promise rejections: ${r.unhandledRejections.length}${
      r.uncaughtExceptions.length > 0 ? `, uncaught exceptions: ${r.uncaughtExceptions.length}` : ""
    }`
  )
  for (const e of [...r.unhandledRejections, ...r.uncaughtExceptions].slice(0, 5)) lines.push(`      ${e}`)
  lines.push(
    `${mark(r.health.alive && r.health.synced)}  health after settling: alive ${r.health.alive}, synced ${r.health.synced}, ` +
      `leader ${r.health.leader}${r.health.detail.length > 0 ? ` (${r.health.detail.join("; ")})` : ""}`,
    `${mark(r.stopMs !== undefined)}  service stopped in ${seconds(r.stopMs)}`,
    ""
  )
  if (r.failures.length === 0) {
    lines.push(`PASS (seed ${r.seed}, plan ${r.planHash})`)
  } else {
    for (const f of r.failures) lines.push(`FAIL: ${f}`)
    lines.push(
      `FAIL (seed ${r.seed}, plan ${r.planHash}): reproduce with: ` +
        `npm run chaos -- --seed ${r.seed} --pods ${r.pods} --duration ${r.faultWindowMs / 1000}`
    )
  }
  return lines.join("\n")
}
