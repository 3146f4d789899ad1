/** The chaos report as text: what was thrown at the service, what became of every pod, and the verdict. */
import type { ChaosReport } from "./chaosRun.ts"

const seconds = (ms: number | undefined) => (ms === undefined ? "did not finish" : `${(ms / 1000).toFixed(1)} s`)
const mark = (ok: boolean) => (ok ? "ok" : "FAIL")
const counts = (record: Readonly<Record<string, number>>) =>
  Object.entries(record).length === 0 ? "none" : Object.entries(record).map(([k, n]) => `${k} ${n}`).join(", ")

/** The command that replays a run. */
export const replayCommand = (r: ChaosReport): string =>
  `npm run chaos -- --seed ${r.seed} --pods ${r.requestedPods} --duration ${r.faultWindowMs / 1000} --quiet-period ${r.quiet.ms / 1000}`

export const formatReport = (r: ChaosReport): string => {
  const lines: Array<string> = []
  lines.push(
    `chaos seed ${r.seed}  plan ${r.planHash}  ${r.pods} pods (+ ${r.livePods} live ones) on ${r.nodes} nodes in ${r.namespaces.length} namespaces (${
      r.namespaces.join(", ")
    })`,
    `Argo model on, record lag 0..${r.argoRecordLagMs} ms; service args: ${r.serviceArgs.join(" ")}`,
    `fault window ${seconds(r.faultWindowMs)}, settled ${r.settleMs.first < r.settleMaxMs ? "in" : "NOT within"} ${seconds(r.settleMs.first)}; ` +
      `quiet period ${seconds(r.quiet.ms)}, then ${r.quiet.podsAfter} pods, settled in ${seconds(r.settleMs.second)} ` +
      `(bound ${seconds(r.settleMaxMs)} each); total ${seconds(r.elapsedMs)}`,
    "",
    `faults injected (${r.faultsTotal}):`
  )
  const kinds = Object.entries(r.faults)
  for (let i = 0; i < kinds.length; i += 6) {
    lines.push(`  ${kinds.slice(i, i + 6).map(([k, n]) => `${k} ${n}`).join(" | ")}`)
  }
  lines.push(
    `  exec connections faulted by the simulator: ${counts(r.execFaultsApplied)}`,
    `  exec upgrades refused 429/503: ${r.execRefused}; pod deletes answered 503: ${r.deletes503}; ` +
      `continue tokens expired mid-relist: ${r.continueExpiries.fired} (next pages answered 410: ${r.continueExpiries.pages410})`,
    `  error answers sent (injected and real): ${counts(r.errorAnswers)} of ${r.requests} requests`,
    `  quiet period: ${r.quiet.startedSettled ? "began settled" : "began UNSETTLED"}, ${r.quiet.podActivity} pod writes/execs during it, ` +
      `${r.quiet.watchReopens} watches (re)opened during it`
  )
  for (const rc of r.recreates) {
    const t = (at: number | undefined) => (at === undefined ? "-" : `+${((at - rc.seededAt) / 1000).toFixed(2)}s`)
    lines.push(
      `  pod recreate ${rc.namespace}/${rc.pod} (${rc.spec.strategy || "no strategy"}, grace ${rc.spec.graceSeconds}s): ` +
        (rc.replacedAt === undefined
          ? `not re-created: ${rc.missed ?? "?"}`
          : `SIGTERM ${t(rc.sigtermAt)}, replaced ${t(rc.replacedAt)} (uid ${rc.oldUid.slice(0, 8)} -> ${rc.newUid?.slice(0, 8)}), main ended ${t(rc.mainEndedAt)}`)
    )
  }
  lines.push(
    "",
    `ledger: cleaned ${r.ledger.cleaned} / expected ${r.ledger.expected}; uncleaned ${r.ledger.uncleaned}`
  )
  for (const [reason, n] of r.ledger.reasons.slice(0, 8)) lines.push(`  ${String(n).padStart(5)} × ${reason}`)
  if (r.ledger.reasons.length > 8) lines.push(`  ... and ${r.ledger.reasons.length - 8} other reason(s)`)
  for (const pod of r.ledger.uncleanedPods) {
    lines.push(`  UNCLEANED ${pod.namespace}/${pod.name} on ${pod.node} (should ${pod.expect}): ${pod.state}`)
    for (const o of pod.outcomes.slice(-6)) lines.push(`       ${o}`)
    if (pod.outcomes.length === 0) lines.push("       no outcome recorded")
  }
  for (const h of r.harms.slice(0, 20)) lines.push(`  HARMED ${h.namespace}/${h.pod}: ${h.kind}: ${h.detail}`)
  if (r.harms.length > 20) lines.push(`  ... and ${r.harms.length - 20} more harmed`)
  lines.push(
    `actions: ${r.outcomes.done} done, ${r.outcomes.skipped} skipped, ${r.outcomes.failed} failed; waiting for Argo at the end: ${r.health.waitingForArgo}; ` +
      `service log lines: ${counts(r.logLines)}`,
    "",
    `${mark(r.ledger.cleaned === r.ledger.expected)}  pods cleaned / pods expected: ${r.ledger.cleaned} / ${r.ledger.expected}`,
    `${mark(r.harms.length === 0)}  pods harmed: ${r.harms.length}` +
      ` (signals/deletes/labels of live pods: ${r.harms.filter((h) => h.kind !== "pod deleted").length}, ` +
      `nodes Argo marked "pod deleted": ${r.harms.filter((h) => h.kind === "pod deleted").length}; ` +
      `${r.harmsExcused} "pod deleted" caused by the run's own re-creations not counted)`,
    `${mark(r.harms.every((h) => h.kind !== "pod deleted"))}  workflow nodes marked 'pod deleted': ${r.harms.filter((h) => h.kind === "pod deleted").length}`,
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
    lines.push(`FAIL (seed ${r.seed}, plan ${r.planHash}): reproduce with: ${replayCommand(r)}`)
  }
  return lines.join("\n")
}

/** One line per run, for `--seeds`. */
export const formatSummaryLine = (r: ChaosReport): string =>
  `seed ${String(r.seed).padStart(4)}  ${r.failures.length === 0 ? "PASS" : "FAIL"}  cleaned ${r.ledger.cleaned}/${r.ledger.expected}` +
  `  harmed ${r.harms.length}  settle ${seconds(r.settleMs.first)} + ${seconds(r.settleMs.second)}  recreated ${
    r.recreates.filter((x) => x.replacedAt !== undefined).length
  }/${r.recreates.length}  total ${seconds(r.elapsedMs)}${r.failures.length === 0 ? "" : `  | ${r.failures.join("; ")}`}`
