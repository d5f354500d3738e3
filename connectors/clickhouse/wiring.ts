/** Wiring of the ClickHouse sink stage: group `clickhouse-sink`, inputs ops.telemetry/logs/metrics. */
import { platformConfig } from '../../lib/config/platform.ts';
import type { StageDefinition } from '../../lib/runtime/runner.ts';
import { ClickHouse } from './client.ts';
import { migrate } from './migrations.ts';
import { clickhouseSink } from './sink.ts';

export async function createStage(): Promise<StageDefinition> {
  const ch = new ClickHouse(platformConfig());
  await migrate(ch);
  const stage = clickhouseSink(ch);
  stage.close = async () => ch.close();
  return stage;
}
