import type { IrqLine } from '../../src/machine/device.js';

/** An IrqLine that records its level and every transition. */
export class TestLine implements IrqLine {
  level = false;
  sets = 0;
  set(level: boolean): void {
    this.level = level;
    this.sets++;
  }
}
