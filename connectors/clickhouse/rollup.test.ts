import { describe, expect, it } from 'vitest';
import { ROLLUPS, refreshSql, touchedRanges } from './rollup.ts';

describe('rollup refresh (pure)', () => {
  const at = (iso: string) => Math.floor(Date.parse(iso) / 1000);
  it('recomputes whole minutes: per series, touched minutes joined when less than the gap apart', () => {
    const rows = [
      { source: 'tcs', metric: 'alt', time: at('2019-10-16T08:00:59Z') },
      { source: 'tcs', metric: 'alt', time: at('2019-10-16T08:00:01Z') },
      { source: 'tcs', metric: 'alt', time: at('2019-10-16T08:05:30Z') }, // 5 minutes later: same range
      { source: 'tcs', metric: 'alt', time: at('2019-10-16T09:00:00Z') }, // an hour later: its own range
      { source: 'tcs', metric: 'az', time: at('2019-10-16T08:00:10Z') },
    ];
    expect(touchedRanges(rows).map((r) => [r.source, r.metric, new Date(r.from * 1000).toISOString(), new Date(r.to * 1000).toISOString()])).toEqual([
      ['tcs', 'alt', '2019-10-16T08:00:00.000Z', '2019-10-16T08:06:00.000Z'],
      ['tcs', 'alt', '2019-10-16T09:00:00.000Z', '2019-10-16T09:01:00.000Z'],
      ['tcs', 'az', '2019-10-16T08:00:00.000Z', '2019-10-16T08:01:00.000Z'],
    ]);
    expect(touchedRanges(rows, 60, 0)).toHaveLength(4);
    // ten-minute spans
    expect(touchedRanges(rows, 600, 1).map((r) => [r.metric, new Date(r.from * 1000).toISOString(), new Date(r.to * 1000).toISOString()])).toEqual([
      ['alt', '2019-10-16T08:00:00.000Z', '2019-10-16T08:10:00.000Z'],
      ['alt', '2019-10-16T09:00:00.000Z', '2019-10-16T09:10:00.000Z'],
      ['az', '2019-10-16T08:00:00.000Z', '2019-10-16T08:10:00.000Z'],
    ]);
  });

  it('reads telemetry FINAL with conditions on key columns only, values quoted', () => {
    const q = refreshSql('gft', ROLLUPS[0], [{ source: "o'brien", metric: 'x', from: 60, to: 180 }], 1234).text;
    expect(q).toMatch(/FROM `gft`\.`telemetry` FINAL WHERE \(source = 'o\\'brien' AND metric = 'x' AND time >= '1970-01-01 00:01:00' AND time < '1970-01-01 00:03:00'\)/);
    expect(q).toMatch(/toDateTime\(intDiv\(toUInt32\(time\), 60\) \* 60\) AS tm, min\(value\), max\(value\), sum\(value\), count\(\), 1234\s/);
    expect(refreshSql('gft', ROLLUPS[1], [{ source: 's', metric: 'x', from: 0, to: 600 }], 1).text).toMatch(/^INSERT INTO `gft`\.`telemetry_10m` .*intDiv\(toUInt32\(time\), 600\) \* 600/s);
    expect(q).toMatch(/^INSERT INTO `gft`\.`telemetry_1m` \(source, metric, t, vmin, vmax, vsum, n, version\)/);
  });
});
