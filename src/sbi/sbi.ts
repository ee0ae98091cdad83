/**
 * The host side of the RISC-V SBI (SBI spec v2.0): what an S-mode `ecall`
 * reaches when colinux boots a kernel without firmware. This is colinux's
 * equivalent of the original Cooperative Linux `co_operation` passage: the
 * guest asks, the host does it, the guest continues.
 */
import type { Hart } from '../machine/core.js';

export const SBI_SUCCESS = 0n;
export const SBI_ERR_FAILED = -1n;
export const SBI_ERR_NOT_SUPPORTED = -2n;
export const SBI_ERR_INVALID_PARAM = -3n;
export const SBI_ERR_INVALID_ADDRESS = -5n;
export const SBI_ERR_ALREADY_AVAILABLE = -6n;

// Extension IDs.
export const EXT_LEGACY_SET_TIMER = 0x00;
export const EXT_LEGACY_PUTCHAR = 0x01;
export const EXT_LEGACY_GETCHAR = 0x02;
export const EXT_LEGACY_SHUTDOWN = 0x08;
export const EXT_BASE = 0x10;
export const EXT_TIME = 0x54494d45;
export const EXT_IPI = 0x735049;
export const EXT_RFENCE = 0x52464e43;
export const EXT_HSM = 0x48534d;
export const EXT_SRST = 0x53525354;
export const EXT_DBCN = 0x4442434e;

const SPEC_VERSION = 2n << 24n; // 2.0
/** Implementation ID: not one of the registered ones (0..10). */
export const IMPL_ID = 0xc011n;
export const IMPL_VERSION = 1n;

const SUPPORTED = new Set([
  EXT_LEGACY_SET_TIMER,
  EXT_LEGACY_PUTCHAR,
  EXT_LEGACY_GETCHAR,
  EXT_LEGACY_SHUTDOWN,
  EXT_BASE,
  EXT_TIME,
  EXT_IPI,
  EXT_RFENCE,
  EXT_HSM,
  EXT_SRST,
  EXT_DBCN,
]);

const MIP_SSIP = 1n << 1n;
const CSR_MIP = 0x344;
const CSR_SATP = 0x180;

/** What SBI calls may do to the rest of the machine. */
export interface SbiHost {
  /** Console output (DBCN write, legacy putchar). */
  consoleWrite(bytes: Uint8Array): void;
  /** One byte of console input, or -1. */
  consoleRead(): number;
  /** SRST / legacy shutdown: 'shutdown' with an exit code, or 'reboot'. */
  systemReset(kind: 'shutdown' | 'reboot', code: number): void;
}

function s64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}

/** Serve the ecall the hart just made; a0/a1 receive the result. */
export function handleSbiCall(hart: Hart, host: SbiHost): void {
  const eid = Number(hart.reg(17) & 0xffffffffn);
  const fid = Number(hart.reg(16) & 0xffffffffn);
  const a0 = hart.reg(10);
  const a1 = hart.reg(11);
  const a2 = hart.reg(12);

  const ret = (error: bigint, value = 0n): void => {
    hart.setReg(10, error);
    hart.setReg(11, value);
  };

  switch (eid) {
    case EXT_LEGACY_SET_TIMER:
      hart.x.setStimecmp(a0);
      hart.setReg(10, 0n);
      return;
    case EXT_LEGACY_PUTCHAR:
      host.consoleWrite(Uint8Array.of(Number(a0 & 0xffn)));
      hart.setReg(10, 0n);
      return;
    case EXT_LEGACY_GETCHAR:
      hart.setReg(10, BigInt(host.consoleRead()));
      return;
    case EXT_LEGACY_SHUTDOWN:
      host.systemReset('shutdown', 0);
      return;
    case EXT_BASE:
      switch (fid) {
        case 0:
          return ret(SBI_SUCCESS, SPEC_VERSION);
        case 1:
          return ret(SBI_SUCCESS, IMPL_ID);
        case 2:
          return ret(SBI_SUCCESS, IMPL_VERSION);
        case 3:
          return ret(
            SBI_SUCCESS,
            SUPPORTED.has(Number(a0 & 0xffffffffn)) && a0 <= 0xffffffffn ? 1n : 0n,
          );
        case 4: // mvendorid
        case 5: // marchid
        case 6: // mimpid
          return ret(SBI_SUCCESS, hart.csr(0xf11 + fid - 4));
        default:
          return ret(SBI_ERR_NOT_SUPPORTED);
      }
    case EXT_TIME:
      if (fid !== 0) return ret(SBI_ERR_NOT_SUPPORTED);
      hart.x.setStimecmp(a0);
      return ret(SBI_SUCCESS);
    case EXT_IPI: {
      if (fid !== 0) return ret(SBI_ERR_NOT_SUPPORTED);
      if (targetsHart0(a0, a1)) hart.setCsr(CSR_MIP, hart.csr(CSR_MIP) | MIP_SSIP);
      return ret(SBI_SUCCESS);
    }
    case EXT_RFENCE: {
      if (fid > 2) return ret(SBI_ERR_NOT_SUPPORTED);
      // remote_fence_i needs nothing (no decode cache); sfence.vma: flush by rewriting satp.
      if (fid > 0 && targetsHart0(a0, a1)) hart.setCsr(CSR_SATP, hart.csr(CSR_SATP));
      return ret(SBI_SUCCESS);
    }
    case EXT_HSM:
      switch (fid) {
        case 0: // hart_start
          return ret(a0 === 0n ? SBI_ERR_ALREADY_AVAILABLE : SBI_ERR_INVALID_PARAM);
        case 1: // hart_stop: the only hart cannot stop
          return ret(SBI_ERR_FAILED);
        case 2: // hart_get_status
          return a0 === 0n ? ret(SBI_SUCCESS, 0n) : ret(SBI_ERR_INVALID_PARAM);
        default:
          return ret(SBI_ERR_NOT_SUPPORTED);
      }
    case EXT_SRST: {
      if (fid !== 0) return ret(SBI_ERR_NOT_SUPPORTED);
      const type = a0 & 0xffffffffn;
      const reason = a1 & 0xffffffffn;
      if (type > 2n || reason > 1n) return ret(SBI_ERR_INVALID_PARAM);
      host.systemReset(type === 0n ? 'shutdown' : 'reboot', reason === 1n ? 1 : 0);
      return ret(SBI_SUCCESS);
    }
    case EXT_DBCN:
      return dbcn(hart, host, fid, a0, a1, a2, ret);
    default:
      return ret(SBI_ERR_NOT_SUPPORTED);
  }
}

/** hart_mask / hart_mask_base addressing (SBI spec §3.1). */
function targetsHart0(mask: bigint, base: bigint): boolean {
  if (s64(base) === -1n) return true;
  return base === 0n && (mask & 1n) === 1n;
}

function dbcn(
  hart: Hart,
  host: SbiHost,
  fid: number,
  a0: bigint,
  a1: bigint,
  a2: bigint,
  ret: (e: bigint, v?: bigint) => void,
): void {
  switch (fid) {
    case 0: // console_write(num_bytes, base_lo, base_hi)
    case 1: {
      // console_read
      const pa = a1 | (a2 << 64n); // base_hi is 0 on RV64
      const len = Number(a0 > 0x10000n ? 0x10000n : a0);
      if (a2 !== 0n || !hart.inRam(pa, len)) return ret(SBI_ERR_INVALID_PARAM);
      const view = hart.ramView(pa, len);
      if (fid === 0) {
        host.consoleWrite(view.slice());
        return ret(SBI_SUCCESS, BigInt(len));
      }
      let n = 0;
      while (n < len) {
        const b = host.consoleRead();
        if (b < 0) break;
        view[n++] = b;
      }
      return ret(SBI_SUCCESS, BigInt(n));
    }
    case 2: // console_write_byte
      host.consoleWrite(Uint8Array.of(Number(a0 & 0xffn)));
      return ret(SBI_SUCCESS);
    default:
      return ret(SBI_ERR_NOT_SUPPORTED);
  }
}
