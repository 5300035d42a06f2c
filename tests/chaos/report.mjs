// Markdown tables of chaos results (runScenario's books), one row each.

const s1 = (x) => (x === null || x === undefined ? '–' : `${x.toFixed(1)} s`);

function recovery(r) {
  if (!r.recovery || !r.recovery.length) return 'no fault';
  return r.recovery.map((f) => `${f.label}: first ok +${s1(f.firstOkS)}, ` +
    `${f.lastErrorS === null ? 'no error after' : `errors until +${s1(f.lastErrorS)}`}` +
    `${f.durationS > 0 ? ` (during the ${s1(f.durationS)}: ${f.okDuring} ok)` : ''}`).join('; ');
}

export function problemsOf(r) {
  return r.error ? [`harness: ${r.error}`] : r.problems;
}

export function verdict(r) {
  return problemsOf(r).length === 0 ? 'ok' : `**${problemsOf(r).length} problems**`;
}

export function table(results) {
  const out = [];
  out.push('| scenario | acknowledged | stored | duplicates | lost | foreign events | recovery time | unread counts ok |');
  out.push('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    if (r.error) {
      out.push(`| ${r.title || r.name} | harness failed: ${r.error.replace(/\|/g, '/')} | | | | | | |`);
      continue;
    }
    const lost = r.lostAcked + r.missingAtMembers;
    out.push([
      r.title || r.name,
      `${r.acknowledged} of ${r.sent} sends`,
      `${r.stored}: ${r.storedAckedOnce} acked once, ${r.storedUnacked} unacked, ${r.storedTwice} twice; ` +
        `seq 1..n ${r.seqOk ? 'ok' : '**broken**'}`,
      String(r.duplicates),
      lost ? `**${lost}** (${r.lostAcked} not stored, ${r.missingAtMembers} missing at members)` : '0',
      String(r.foreign),
      recovery(r),
      `${r.unreadOk === r.unreadChecked ? 'yes' : '**no**'} (${r.unreadOk}/${r.unreadChecked}; heads ${r.headsOk}/${r.conversations})`,
    ].join(' | ').replace(/^/, '| ').replace(/$/, ' |'));
  }
  return out.join('\n');
}

export function details(results) {
  const out = [];
  out.push('| scenario | failed attempts (by kind) | retried sends | gave up | clients that lost their socket (disconnect reasons) | caught up | live misses at clients that stayed connected | never announced | ack latency p50 / max | verdict |');
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    if (r.error) {
      out.push(`| ${r.title || r.name} | | | | | | | | | harness failed |`);
      continue;
    }
    const kinds = Object.entries(r.errorKinds).sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k.replace(/\|/g, '/')}: ${n}`).join(', ');
    const reasons = Object.entries(r.disconnectReasons).map(([k, n]) => `${k}: ${n}`).join(', ');
    out.push([
      r.title || r.name,
      `${r.failedAttempts}${kinds ? ` (${kinds})` : ''}`,
      String(r.retried),
      String(r.gaveUp),
      `${r.lostSocket} of ${r.clients}${reasons ? ` (${reasons})` : ''}${r.forcedReconnects ? `, ${r.forcedReconnects} told to reconnect` : ''}`,
      String(r.caughtUp),
      String(r.liveMisses),
      String(r.unannounced),
      `${r.p50AckMs} ms / ${r.maxAckMs} ms`,
      verdict(r),
    ].join(' | ').replace(/^/, '| ').replace(/$/, ' |'));
  }
  return out.join('\n');
}

export function markdown(results, header = '') {
  const parts = [header, table(results), '', details(results)];
  for (const r of results) {
    const ps = problemsOf(r);
    const notes = r.notes || [];
    if (!ps.length && !notes.length && !(r.recovery || []).some((f) => Object.keys(f.stalled || {}).length)) continue;
    parts.push('', `### ${r.title || r.name}`);
    for (const n of notes) parts.push(`- ${n}`);
    for (const f of r.recovery || []) {
      const st = Object.entries(f.stalled || {});
      if (st.length) {
        parts.push(`- after ${f.label}: ${st.length} conversation(s) kept failing past +2 s: ` +
          st.map(([c, t]) => `${c} until +${t.toFixed(1)} s`).join(', '));
      }
    }
    for (const p of ps) parts.push(`- PROBLEM: ${p}`);
  }
  return `${parts.join('\n')}\n`;
}
