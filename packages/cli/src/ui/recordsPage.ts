import type { JobDetails, OpenBatchSummary } from '@obsq/producer';
import type { StoredResult } from '@obsq/shared';

const esc = (s: unknown) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1f2933}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #d9e2ec;padding:.35rem .5rem;text-align:left;font-size:.9rem;vertical-align:top}
th{background:#f0f4f8}.fail{color:#b42318;font-weight:600}.ok{color:#027a48}nav a{margin-right:1rem}
pre{background:#f0f4f8;padding:.75rem;overflow:auto;font-size:.85rem}form{margin:.75rem 0}`;

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${STYLE}</style></head>
<body><nav><a href="../queues">Queues</a><a href="../records">Records</a><a href="../records?failed=1">Failed records</a></nav><h1>${esc(title)}</h1>${body}</body></html>`;
}

/** What the records page shows. */
export interface RecordsView {
  records: StoredResult[];
  failedOnly: boolean;
  openBatches: OpenBatchSummary[];
}

/** The records page: newest GetResult records, a job lookup form and open batches. */
export function renderRecords(v: RecordsView): string {
  const rows = v.records
    .map((r) => {
      const ok = r.result.status >= 200 && r.result.status < 300;
      return `<tr data-job-id="${esc(r.jobId)}"><td>${esc(new Date(r.finishedAt).toISOString())}</td><td><a href="records/${encodeURIComponent(r.jobId)}">${esc(r.jobId)}</a></td>
<td>${esc(r.queue)}</td><td class="${ok ? 'ok' : 'fail'}">${esc(r.result.status)}</td><td class="error-code">${esc(r.result.errorCode)}</td><td>${esc(r.result.errorMessage)}</td><td>${esc(r.attempts)}</td></tr>`;
    })
    .join('\n');
  const batches =
    v.openBatches.length === 0
      ? '<p>No open batches.</p>'
      : `<table><tr><th>Batch</th><th>Finished</th><th>Failed</th><th>Created</th></tr>${v.openBatches
          .map((b) => `<tr><td>${esc(b.batchId)}</td><td>${b.finished}/${b.total}</td><td>${b.failed}</td><td>${esc(new Date(b.createdAt).toISOString())}</td></tr>`)
          .join('')}</table>`;
  return layout(
    v.failedOnly ? 'obsq failed records' : 'obsq records',
    `<form action="records/lookup" method="get"><label>Job id <input name="job" required></label> <button>Show</button></form>
<h2>Open batches</h2>${batches}
<h2>${v.failedOnly ? 'Newest failures' : 'Newest records'}</h2>
${v.records.length === 0 ? '<p>No records.</p>' : `<table id="records"><tr><th>Finished</th><th>Job</th><th>Queue</th><th>Status</th><th>Error code</th><th>Message</th><th>Attempts</th></tr>${rows}</table>`}`,
  );
}

/** One job: its record and details (payload with secrets blanked). */
export function renderJob(jobId: string, job: JobDetails | undefined): string {
  if (!job) return layout(`job ${jobId}`, '<p>No such job and no record (unknown, or removed after retention).</p>');
  const rec = job.record?.result;
  const summary = rec
    ? `<p>Record: status <b class="${rec.status >= 200 && rec.status < 300 ? 'ok' : 'fail'}">${esc(rec.status)}</b> <span class="error-code">${esc(rec.errorCode)}</span> ${esc(rec.errorMessage)}</p>`
    : '<p>No record yet (the job has not finished).</p>';
  return layout(`job ${jobId}`, `<p>Queue ${esc(job.queue)}, state ${esc(job.state)}, attempts ${job.attemptsMade}/${job.attempts}</p>${summary}<pre>${esc(JSON.stringify(job, null, 2))}</pre>`);
}
