import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { composeCommand, tool } from './helpers/tools.js';

// Validates deploy/ with the real tools: promtool (Debian `prometheus`) for the config, the alert
// rules and their unit tests, and docker compose for docker-compose.yml. scripts/bootstrap.sh
// installs both; a missing promtool always fails, a missing compose skips only outside CI.

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const promDir = join(root, 'deploy', 'prometheus');

interface RunResult {
  code: number | null;
  output: string;
}

function run(cmd: string, args: string[], cwd = root): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

async function expectSuccess(cmd: string, args: string[], cwd?: string): Promise<string> {
  const r = await run(cmd, args, cwd);
  expect(r.code, `${cmd} ${args.join(' ')} failed:\n${r.output}`).toBe(0);
  return r.output;
}

describe('deploy/prometheus with promtool', () => {
  beforeAll(() => tool('promtool').require());

  it('alerts.yml passes promtool check rules', async () => {
    const out = await expectSuccess('promtool', ['check', 'rules', join(promDir, 'alerts.yml')]);
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('alerts.test.yml unit tests pass', async () => {
    // Run from the file's directory: rule_files in the test are relative to it.
    const out = await expectSuccess('promtool', ['test', 'rules', 'alerts.test.yml'], promDir);
    expect(out).toContain('SUCCESS');
  });

  it('alerts.test.yml has firing and not-firing cases for every alert in alerts.yml', async () => {
    const rules = await readFile(join(promDir, 'alerts.yml'), 'utf8');
    const tests = await readFile(join(promDir, 'alerts.test.yml'), 'utf8');
    const alerts = [...rules.matchAll(/^\s*- alert:\s*(\S+)/gm)].map((m) => m[1]!);
    expect(alerts.length).toBeGreaterThanOrEqual(5);
    // Each alert_rule_test entry is `alertname: X` followed by `exp_alerts: []` (not firing) or
    // `exp_alerts:` with a list (firing).
    const cases = [...tests.matchAll(/alertname:\s*(\S+)\s*\n\s*exp_alerts:\s*(\[\])?/g)].map((m) => ({
      name: m[1]!,
      firing: m[2] === undefined,
    }));
    for (const name of alerts) {
      expect(cases.some((c) => c.name === name && c.firing), `${name} has no firing case`).toBe(true);
      expect(cases.some((c) => c.name === name && !c.firing), `${name} has no not-firing case`).toBe(true);
    }
    for (const c of cases) expect(alerts, `test names unknown alert ${c.name}`).toContain(c.name);
  });

  it('prometheus.yml (compose) and prometheus.static.yml pass promtool check config', async () => {
    for (const file of ['prometheus.yml', 'prometheus.static.yml']) {
      const out = await expectSuccess('promtool', ['check', 'config', join(promDir, file)]);
      expect(out).toContain('SUCCESS');
    }
  });
});

describe('docker-compose.yml', () => {
  const compose = tool('compose');

  it.skipIf(compose.skip)('is accepted by docker compose config', async () => {
    compose.require();
    const [cmd, ...pre] = composeCommand()!;
    await expectSuccess(cmd!, [...pre, '-f', join(root, 'docker-compose.yml'), 'config', '-q']);
  });

  it('mounts the Prometheus config beside its rules and the dashboard where Grafana looks', async () => {
    const text = await readFile(join(root, 'docker-compose.yml'), 'utf8');
    expect(text).toContain('./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    expect(text).toContain('./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro');
    const provider = await readFile(join(root, 'deploy/grafana/provisioning/dashboards/obsq.yml'), 'utf8');
    const path = /path:\s*(\S+)/.exec(provider)?.[1];
    expect(path).toBeDefined();
    expect(text).toContain(`./deploy/grafana/obsq-dashboard.json:${path}/obsq-dashboard.json:ro`);
    expect(text).toMatch(/--maxmemory-policy", "noeviction"/);
    expect(text).toMatch(/replicas: 3/);
  });
});

describe('deploy/grafana/obsq-dashboard.json', () => {
  it('is a well-formed dashboard: unique panel ids, every query on the datasource variable', async () => {
    const dash = JSON.parse(await readFile(join(root, 'deploy/grafana/obsq-dashboard.json'), 'utf8')) as {
      uid: string;
      panels: { id: number; type: string; gridPos: { x: number; w: number }; datasource?: { uid: string }; targets?: { expr: string }[] }[];
    };
    expect(dash.uid).toBe('obsq-workers');
    const ids = dash.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dash.panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      expect(p.datasource?.uid).toBe('${datasource}');
      expect(p.targets?.length).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.expr.trim()).not.toBe('');
    }
  });
});
