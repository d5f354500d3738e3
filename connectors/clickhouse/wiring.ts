/** Wiring of the ClickHouse sink stage: group `clickhouse-sink`, inputs ops.telemetry/logs/metrics. */
import { platformConfig } from '../../lib/config/platform.ts';
import type { StageDefinition } from '../../lib/runtime/runner.ts';
import { ClickHouse } from './client.ts';
import { migrate } from './migrations.ts';
import { clickhouseSink } from './sink.ts';

export async function createStage(): Promise<StageDefinition> {
  const ch = new ClickHouse(platformConfig());
  const stage = clickhouseSink(ch);
  // the tables exist before the first flush; ClickHouse may be away: the runner retries init
  stage.init = async () => {
    await migrate(ch);
  };
  stage.close = async () => ch.close();
  return stage;
}
