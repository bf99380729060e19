"""Simplified ITU-T G.107 E-model: MOS estimate for a G.711 call from loss, jitter, delay."""

from __future__ import annotations

R0_MINUS_IS = 93.2  # R0 - Is with default G.107 values
G711_IE = 0.0
G711_BPL_PLC = 25.1  # packet-loss robustness with PLC (G.113 Appendix I)
G711_BPL_NO_PLC = 4.3


def delay_impairment(one_way_ms: float) -> float:
    """Id from the one-way mouth-to-ear delay (Cole & Rosenbluth approximation of G.107)."""
    d = max(0.0, one_way_ms)
    return 0.024 * d + (0.11 * (d - 177.3) if d > 177.3 else 0.0)


def equipment_impairment(loss_percent: float, *, ie: float = G711_IE, bpl: float = G711_BPL_PLC,
                         burst_ratio: float = 1.0) -> float:
    """Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl)."""
    ppl = min(max(loss_percent, 0.0), 100.0)
    return ie + (95.0 - ie) * ppl / (ppl / burst_ratio + bpl)


def r_factor(loss_percent: float, jitter_ms: float, delay_ms: float, *, plc: bool = True) -> float:
    """R for G.711: the jitter buffer is assumed to add about twice the jitter as delay."""
    effective_delay = delay_ms + 2.0 * max(jitter_ms, 0.0) + 10.0
    bpl = G711_BPL_PLC if plc else G711_BPL_NO_PLC
    return R0_MINUS_IS - delay_impairment(effective_delay) - equipment_impairment(loss_percent, bpl=bpl)


def mos_from_r(r: float) -> float:
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)


def mos(loss_percent: float, jitter_ms: float, delay_ms: float, *, plc: bool = True) -> float:
    """MOS-CQE estimate in [1, 4.5]."""
    return round(min(4.5, max(1.0, mos_from_r(r_factor(loss_percent, jitter_ms, delay_ms, plc=plc)))), 3)
