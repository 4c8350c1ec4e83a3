import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildResults } from '../../../src/experiment/build.ts';
import { renderMarkdown, reportBlocks, summaryText, writeReport } from '../../../src/experiment/report.ts';
import { parseScenario } from '../../../src/experiment/scenario.ts';
import { dnsSvg, niceTicks, rttSvg, shortPhaseName, throughputSvg } from '../../../src/experiment/svg.ts';
import { parseTopology } from '../../../src/testbed/topology.ts';
import { syntheticCapture, T0 } from './synthetic.ts';

function results(reference: boolean) {
  const topo = parseTopology(
    'name: t\nswitches: [s1, s2]\nlinks: [[s1, s2]]\nhosts:\n  h1: { switch: s1, ip: 10.0.0.1/24 }\n  h2: { switch: s2, ip: 10.0.0.2/24 }\ntunnel: { encap: vlan, link: { kind: veth, rate: 100mbit } }\n',
  );
  const s = parseScenario(
    `name: demo\n${reference ? 'reference: paper\n' : ''}topology: t.yaml\napps: [path-flipper]\nmigration: { order: [h1, h2], blackout: 200ms }\ntraffic: [{ kind: tcp, from: h1, to: h2 }, { kind: ping, from: h1, to: h2 }, { kind: dns, from: h1, to: h2 }]\n`,
    'demo.yaml',
    { loadTopology: () => ({ topology: topo, file: 't.yaml' }) },
  );
  const failed = syntheticCapture('asap');
  return buildResults(s, [syntheticCapture('none'), failed, syntheticCapture('alap')], {
    environment: { vnm: '0.1.0', node: 'v20.0.0' },
    generatedAt: new Date(T0),
  });
}

describe('report', () => {
  test('writes report.md, report.html, the SVG charts and results.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vnm-report-'));
    try {
      const w = writeReport(results(true), dir);
      for (const f of ['report.md', 'report.html', 'throughput.svg', 'rtt.svg', 'dns.svg', 'results.json']) {
        assert.ok(existsSync(join(dir, f)), f);
        assert.ok(w.files.includes(f), f);
      }
      const md = readFileSync(join(dir, 'report.md'), 'utf8');
      for (const h of [
        '# Live migration experiment: demo',
        '## Set-up',
        '## Summary',
        '## Per phase',
        '### Phase before',
        '### Phase one-migrated',
        '### Phase all-migrated',
        '### Phase after-finalize',
        '### Migration actions',
        "## Round-trip time (the paper's Table 1)",
        '## DNS loss',
        '## Goals',
        '## Runs',
        '![',
        '(throughput.svg)',
      ])
        assert.ok(md.includes(h), `report.md lacks ${h}`);
      // Ours next to the paper's numbers.
      assert.match(md, /\| TCP before \(Mbit\/s\) \| 100\.0 \| 100\.0 \| 100\.0 \| 24 \| 24 \|/);
      assert.match(md, /\| TCP all-migrated \(Mbit\/s\) \| 25\.0 \| 25\.0 \| 25\.0 \| 16 \| 24 \|/);
      assert.match(md, /paper asap \| 0\.247 \(sd 0\.516\) \| 0\.434 \(sd 0\.867\)/);
      assert.match(md, /paper alap \| ~25,000 \| {2}\| {2}\| 0\.39 %/);
      const html = readFileSync(join(dir, 'report.html'), 'utf8');
      assert.match(html, /^<!DOCTYPE html>/);
      assert.equal((html.match(/<svg /g) ?? []).length, 3, 'three inline charts');
      assert.doesNotMatch(html, /<(img|script|link)\b/, 'self-contained');
      assert.match(html, /<table>/);
      const json = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { runs: unknown[] };
      assert.equal(json.runs.length, 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('without a reference no paper columns', () => {
    const md = renderMarkdown(reportBlocks(results(false), { throughput: null, rtt: null, dns: null }));
    assert.doesNotMatch(md, /paper/i);
    assert.doesNotMatch(md, /!\[/);
  });

  test('charts: axes with units, legend, phase labels, one panel per run', () => {
    const res = results(true);
    const t = throughputSvg(res)!;
    assert.match(t, /^<svg xmlns='http:\/\/www\.w3\.org\/2000\/svg'/);
    for (const s of [
      'Mbit/s',
      'time since traffic start (s)',
      'Tunnel ASAP',
      'Tunnel ALAP',
      'no migration',
      'phase mean',
      'host blackout',
      'migration action',
      '>before<',
      '>all-migrated<',
    ])
      assert.ok(t.includes(s), `throughput.svg lacks ${s}`);
    assert.equal((t.match(/stroke-width='2\.2'/g) ?? []).length, 3, 'a trace per run');
    const r = rttSvg(res)!;
    assert.ok(r.includes('RTT (ms)'));
    const d = dnsSvg(res)!;
    for (const s of ['queries lost (%)', 'whole run', 'migration actions', "the paper's (whole run)"])
      assert.ok(d.includes(s), s);
    // Well-formed enough for an XML parser: balanced tags.
    for (const svg of [t, r, d]) {
      const open = (svg.match(/<(svg|text|title|defs|pattern)\b/g) ?? []).length;
      const closed = (svg.match(/<\/(svg|text|title|defs|pattern)>/g) ?? []).length;
      assert.equal(open, closed);
    }
  });

  test('nice axis ticks reach the maximum', () => {
    assert.deepEqual(niceTicks(0, 470, 4), [0, 200, 400, 600]);
    assert.deepEqual(niceTicks(0, 1, 4), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(niceTicks(0, 26, 10), [0, 5, 10, 15, 20, 25, 30]);
    assert.equal(shortPhaseName('migrated-3'), '3 moved');
  });

  test('the terminal summary has a table per run and the goals', () => {
    const text = summaryText(results(true));
    assert.match(text, /alap \(Tunnel ALAP\): ok/);
    assert.match(text, /phase\s+span s\s+TCP Mbit\/s/);
    assert.match(text, /Goals:/);
  });
});
