/** colinux: a real Linux kernel on an emulated RISC-V 64 machine, embedded in Node.js. */
export {
  Vm,
  type VmOptions,
  type VmExit,
  type VmSettings,
  type VmResumeOptions,
  type SnapshotOptions,
  type ResumeCheck,
  SnapshotError,
  UntrustedSnapshotError,
  IsaError,
  DEFAULT_KERNEL_ARGS,
} from './vm.js';
export {
  Machine,
  type MachineOptions,
  type MachineExit,
  type ExitReason,
  BootError,
  MIN_MEM_MIB,
  MAX_MEM_MIB,
} from './machine/machine.js';
export { runBareMetal, type BareMetalResult } from './machine/baremetal.js';
export { ensureDefaultImage, type DefaultImage } from './backends/image/index.js';
export type { VmShare } from './backends/fs/index.js';
export type { VmDisk } from './vm.js';
export { DiskError, type OpenDisk, type DiskSpec, openDisk } from './backends/block/index.js';
export type { BlockBackend } from './devices/virtio/blk.js';
export type { VmNic } from './vm.js';
export { NetError } from './backends/net/index.js';
export type { NetBackend, NetPort, NetStats } from './net/link.js';
export type { PortForward } from './net/stack.js';
export { GdbStub, type GdbStubOptions } from './debug/gdb-stub.js';
export { GuestProfile } from './debug/profile.js';
export { Tracer, type TraceKind, parseTraceKinds } from './debug/trace.js';
export {
  parseInputLog,
  logHeader,
  logLine,
  frameLine,
  InputLogError,
  type InputEvent,
  type InputLog,
} from './debug/replay.js';
export { parseElf, type ElfFile } from './machine/elf.js';
