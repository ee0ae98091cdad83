import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Uart16550 } from '../../src/devices/uart16550.js';
import { TestLine } from './helpers.js';

const RBR = 0,
  THR = 0,
  DLL = 0,
  IER = 1,
  DLM = 1,
  IIR = 2,
  FCR = 2,
  LCR = 3,
  MCR = 4,
  LSR = 5,
  MSR = 6,
  SCR = 7;

function make(rxFifoSize?: number) {
  const irq = new TestLine();
  const out: number[] = [];
  let spaceCalls = 0;
  const u = new Uart16550({
    irq,
    onTransmit: (b) => out.push(b),
    onRxSpace: () => spaceCalls++,
    rxFifoSize,
  });
  const r = (o: number) => u.read(o, 1);
  const w = (o: number, v: number) => u.write(o, 1, v);
  return { u, irq, out, r, w, spaces: () => spaceCalls };
}

test('uart reset state', () => {
  const { r, irq } = make();
  assert.equal(r(IIR), 0x01);
  assert.equal(r(LSR), 0x60);
  assert.equal(r(IER), 0);
  assert.equal(r(MSR) & 0xf0, 0xb0);
  assert.equal(irq.level, false);
  assert.equal(r(0x10), 0);
  assert.equal(r(0xff), 0);
});

test('uart transmit, scratch, divisor latch', () => {
  const { r, w, out } = make();
  w(THR, 0x41);
  w(THR, 0x142);
  assert.deepEqual(out, [0x41, 0x42]);
  w(SCR, 0x5a);
  assert.equal(r(SCR), 0x5a);
  w(LCR, 0x83);
  w(DLL, 0x01);
  w(DLM, 0x02);
  assert.equal(r(DLL), 0x01);
  assert.equal(r(DLM), 0x02);
  assert.equal(out.length, 2, 'DLL write is not a transmit');
  w(LCR, 0x03);
  assert.equal(r(LCR), 0x03);
  assert.equal(r(IER), 0);
  w(0x20, 0xff); // ignored
  w(LSR, 0); // ignored
  assert.equal(r(LSR), 0x60);
});

test('uart receive FIFO with back-pressure and data-available interrupt', () => {
  const { u, r, w, irq, spaces } = make();
  // 16450 mode: one byte of buffering.
  assert.equal(u.pushInput(new Uint8Array([1, 2])), 1);
  assert.equal(r(LSR) & 1, 1);
  assert.equal(irq.level, false, 'ERBFI off');
  w(IER, 0x01);
  assert.equal(irq.level, true);
  assert.equal(r(IIR), 0x04);
  assert.equal(spaces(), 0);
  assert.equal(r(RBR), 1);
  assert.equal(spaces(), 1, 'room after a refused push');
  assert.equal(irq.level, false);
  assert.equal(r(IIR), 0x01);
  // FIFO mode, trigger level 8.
  w(FCR, 0x81);
  assert.equal(r(IIR), 0xc1);
  assert.equal(u.rxSpace(), 16);
  assert.equal(u.pushInput(new Uint8Array(20).map((_, i) => i)), 16);
  assert.equal(u.rxSpace(), 0);
  assert.equal(r(IIR), 0xc4, 'at/above trigger: received data available');
  for (let i = 0; i < 9; i++) assert.equal(r(RBR), i);
  assert.equal(r(IIR), 0xcc, 'below trigger: character time-out');
  assert.equal(irq.level, true);
  while (r(LSR) & 1) r(RBR);
  assert.equal(irq.level, false);
  assert.equal(r(RBR), 0, 'empty FIFO reads 0');
  // FCR clear RX.
  u.pushInput(new Uint8Array([9, 9]));
  w(FCR, 0x83);
  assert.equal(r(LSR) & 1, 0);
});

test('uart larger receive FIFO option', () => {
  const { u, w } = make(64);
  w(FCR, 0x01);
  assert.equal(u.pushInput(new Uint8Array(100)), 64);
});

test('uart THRE interrupt: fires on ETBEI enable, cleared by IIR read or THR write', () => {
  const { r, w, irq } = make();
  w(FCR, 0x07);
  w(IER, 0x02);
  assert.equal(irq.level, true);
  assert.equal(r(IIR), 0xc2);
  assert.equal(irq.level, false, 'reading IIR reporting THRE clears it');
  assert.equal(r(IIR), 0xc1);
  // Writing IER again with ETBEI already set does not re-arm.
  w(IER, 0x02);
  assert.equal(irq.level, false);
  // Toggle re-arms (the 8250 driver's THRE test does this).
  w(IER, 0x00);
  w(IER, 0x02);
  assert.equal(r(IIR), 0xc2);
  // Transmitting empties THR again at once: interrupt comes back.
  w(THR, 0x30);
  assert.equal(irq.level, true);
  assert.equal(r(IIR), 0xc2);
  // Disabling ETBEI drops it.
  w(THR, 0x31);
  assert.equal(irq.level, true);
  w(IER, 0x00);
  assert.equal(irq.level, false);
  assert.equal(r(IIR), 0xc1);
});

test('uart IIR priorities: line status > rx data > THRE > modem status', () => {
  const { u, r, w } = make();
  w(FCR, 0x01);
  w(MCR, 0x10); // loopback to produce an overrun and modem changes
  w(IER, 0x0f);
  // THRE pending, and modem status delta from the MCR write.
  w(MCR, 0x12); // RTS -> CTS changes -> DCTS
  // overrun: 16 bytes fit in loopback, the 17th overruns
  for (let i = 0; i < 17; i++) w(THR, i);
  assert.equal(r(IIR) & 0x0f, 0x06, 'line status first');
  assert.equal(r(LSR) & 0x03, 0x03, 'OE and DR');
  assert.equal(r(LSR) & 0x02, 0, 'OE cleared by LSR read');
  assert.equal(r(IIR) & 0x0f, 0x04, 'then received data');
  while (r(LSR) & 1) r(RBR);
  assert.equal(r(IIR) & 0x0f, 0x02, 'then THRE');
  assert.equal(r(IIR) & 0x0f, 0x00, 'then modem status');
  assert.equal(r(MSR) & 0x01, 0x01, 'DCTS');
  assert.equal(r(IIR) & 0x0f, 0x01, 'nothing left');
  assert.equal(u.rxSpace(), 0, 'host input blocked during loopback');
});

test('uart passes the 8250 autoconfig probes', () => {
  const { r, w, out } = make();
  // IER test
  w(IER, 0);
  assert.equal(r(IER) & 0x0f, 0);
  w(IER, 0x0f);
  assert.equal(r(IER) & 0x0f, 0x0f);
  w(IER, 0);
  // loopback test: MCR = LOOP | OUT2 | RTS -> MSR high nibble = DCD | CTS
  w(MCR, 0x10 | 0x0a);
  assert.equal(r(MSR) & 0xf0, 0x90);
  w(MCR, 0x10 | 0x05);
  assert.equal(r(MSR) & 0xf0, 0x60);
  w(MCR, 0);
  // FIFO test: IIR bits 7:6 = 3 with FIFOs enabled
  w(FCR, 0x01);
  assert.equal(r(IIR) >> 6, 3);
  // EFR probes (LCR = 0x80 / 0xbf) must not read 0 at offset 2
  w(LCR, 0x80);
  assert.notEqual(r(2), 0);
  w(LCR, 0xbf);
  assert.notEqual(r(2), 0);
  w(LCR, 0);
  // 64-byte FIFO probe: IIR bit 5 stays clear
  w(FCR, 0x21);
  assert.equal(r(IIR) & 0x20, 0);
  w(FCR, 0);
  assert.equal(r(IIR) >> 6, 0);
  // FIFO size probe in loopback: 16 bytes
  w(MCR, 0x10);
  w(FCR, 0x07);
  for (let i = 0; i < 256; i++) w(THR, i);
  let n = 0;
  while (r(LSR) & 1 && n < 300) {
    r(RBR);
    n++;
  }
  assert.equal(n, 16);
  assert.equal(out.length, 0, 'loopback bytes never reach the host');
  w(MCR, 0);
  w(THR, 0x55);
  assert.deepEqual(out, [0x55]);
});

test('uart wider accesses act on the addressed byte', () => {
  const { u } = make();
  u.write(7, 4, 0x12345678);
  assert.equal(u.read(7, 4), 0x78);
  assert.equal(u.read(5, 2), 0x60);
});

test('uart snapshot round trip', () => {
  const a = make();
  a.w(FCR, 0xc1);
  a.w(IER, 0x03);
  a.w(SCR, 0x99);
  a.w(LCR, 0x80);
  a.w(DLL, 12);
  a.w(LCR, 0x03);
  a.u.pushInput(new Uint8Array([7, 8, 9]));
  const state = JSON.parse(JSON.stringify(a.u.save()));
  const b = make();
  b.u.restore(state);
  assert.equal(b.irq.level, true);
  assert.deepEqual(b.u.save(), a.u.save());
  assert.equal(b.r(RBR), 7);
  assert.equal(b.r(SCR), 0x99);
  assert.throws(() => b.u.restore({ ...state, version: 2 }));
});
