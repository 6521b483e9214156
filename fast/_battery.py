"""The home battery of `v2h assess`: an AC-coupled battery and its own zero-export control,
second by second over the house's grid power. Compiled by Cython, run as is otherwise.

The battery (firmware_notes/assessment.md, "Home battery"): an inverter whose conversion
loss is `p_nom * (l0 + l1 * x + l2 * x * x)` at part load x = |P| / p_nom (so its efficiency
falls at part load), a cell round trip of `cell_eff` (split evenly over charge and
discharge), a standby draw from the grid while the inverter idles, and a control that
sees the meter `dead_s` seconds late and moves its power with time constant `tau_s`:
each second it aims at the house's net power as it was `dead_s` seconds ago (the grid it
measured less its own power then), and idles below `min_w`. Powers in W (AC side,
positive = charging), energies in Wh, the SoC in Wh.
"""

import cython
from cython.cimports.libc.math import exp, fabs

# indices of the `out` totals array
O_IMPORT = cython.declare(cython.int, 0)    # Wh taken from the grid
O_EXPORT = cython.declare(cython.int, 1)    # Wh fed into the grid
O_AC_IN = cython.declare(cython.int, 2)     # Wh the inverter took from the house (AC)
O_AC_OUT = cython.declare(cython.int, 3)    # Wh the inverter gave the house (AC)
O_STANDBY = cython.declare(cython.int, 4)   # Wh of standby draw (AC, from the grid)
O_CONV = cython.declare(cython.int, 5)      # Wh lost in conversion
O_CELL = cython.declare(cython.int, 6)      # Wh lost in the cells
O_SOC = cython.declare(cython.int, 7)       # Wh stored at the end
O_FULL_EQ = cython.declare(cython.int, 8)   # Wh discharged from the cells (throughput)
OUT_N = 9
OUT_FIELDS = ("import_wh", "export_wh", "ac_in_wh", "ac_out_wh", "standby_wh",
              "conversion_loss_wh", "cell_loss_wh", "soc_wh", "dc_out_wh")


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _loss(p: cython.double, p_nom: cython.double, l0: cython.double, l1: cython.double,
          l2: cython.double) -> cython.double:
    x: cython.double = fabs(p) / p_nom
    return p_nom * (l0 + l1 * x + l2 * x * x)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _aim(seen: cython.double, p_nom: cython.double, min_w: cython.double) -> cython.double:
    """The power the control heads for (W): the house's net power `seen` covered, within
    the inverter's rating, and none below its smallest power."""
    want: cython.double = -seen
    if want > p_nom:
        want = p_nom
    elif want < -p_nom:
        want = -p_nom
    if fabs(want) < min_w:
        want = 0.0
    return want


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _charge(p: cython.double, soc_wh: cython.double, cap_wh: cython.double,
            half: cython.double, p_nom: cython.double, l0: cython.double, l1: cython.double,
            l2: cython.double) -> tuple[cython.double, cython.double, cython.double]:
    """Charging at p > 0 (W, AC) for a second, as far as the cells have room: the power
    taken (W, 0 when none), its conversion loss (W) and the DC power into the cells (W)."""
    loss: cython.double = _loss(p, p_nom, l0, l1, l2)
    dc: cython.double = p - loss
    room: cython.double = (cap_wh - soc_wh) * 3600.0 / half
    if dc <= 0.0 or room <= 0.0:
        return 0.0, 0.0, dc
    if dc > room:
        dc = room
        p = dc + _loss(p, p_nom, l0, l1, l2)
        loss = p - dc
    return p, loss, dc


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _discharge(p: cython.double, soc_wh: cython.double, min_wh: cython.double,
               half: cython.double, p_nom: cython.double, l0: cython.double,
               l1: cython.double, l2: cython.double
               ) -> tuple[cython.double, cython.double, cython.double]:
    """Discharging at p < 0 (W, AC) for a second, as far as the cells hold energy above
    min_wh: the power given (W, negative; 0 when none), its conversion loss (W) and the
    DC power out of the cells' terminals (W)."""
    loss: cython.double = _loss(p, p_nom, l0, l1, l2)
    need: cython.double = -p + loss  # W out of the cells' terminals
    avail: cython.double = (soc_wh - min_wh) * 3600.0 * half
    if avail <= 0.0:
        return 0.0, 0.0, need
    if need > avail:
        need = avail
        p = -(need - _loss(need, p_nom, l0, l1, l2))
        if p >= 0.0:
            p = 0.0
            need = 0.0
        loss = need + p
    return p, loss, need


@cython.boundscheck(False)
@cython.wraparound(False)
def run(grid0: cython.double[:], cap_wh: cython.double, soc_wh: cython.double,
        min_wh: cython.double, p_nom: cython.double, min_w: cython.double,
        l0: cython.double, l1: cython.double, l2: cython.double,
        cell_eff: cython.double, standby_w: cython.double, dead_s: cython.int,
        tau_s: cython.double, out: cython.double[:], soc_trace: cython.double[:],
        trace_every: cython.int, state: cython.double[:],
        slot_io: cython.double[:] = None):
    """Run the battery over grid0 (W per second: the house's grid power without it).

    Adds to `out` (OUT_FIELDS; O_SOC is set), writes the SoC (Wh) every `trace_every`
    seconds into soc_trace (when it is long enough) and, with `slot_io` (2 per
    `trace_every` seconds), adds each such slot's import and export (Wh) there; carries its
    power and the last `dead_s` net powers in `state` (1 + dead_s values, zeros at the
    start) so a year can be run in pieces with the same result. Returns the SoC (Wh) at
    the end."""
    n: cython.Py_ssize_t = len(grid0)
    k: cython.Py_ssize_t
    j: cython.int
    alpha: cython.double = 1.0 - exp(-1.0 / tau_s) if tau_s > 0.0 else 1.0
    half: cython.double = cell_eff ** 0.5
    p: cython.double = state[0]
    imp: cython.double = 0.0
    exp_: cython.double = 0.0
    ac_in: cython.double = 0.0
    ac_out: cython.double = 0.0
    stby: cython.double = 0.0
    conv: cython.double = 0.0
    cell: cython.double = 0.0
    dc_out: cython.double = 0.0
    dc: cython.double  # W into the cells (charging)
    need: cython.double  # W out of the cells (discharging)
    do_trace: cython.bint = trace_every > 0 and len(soc_trace) >= n // trace_every
    do_io: cython.bint = (trace_every > 0 and slot_io is not None
                          and len(slot_io) >= 2 * ((n + trace_every - 1) // trace_every))
    js: cython.Py_ssize_t = 0
    for k in range(n):
        if do_trace and k % trace_every == 0 and k // trace_every < len(soc_trace):
            soc_trace[k // trace_every] = soc_wh
        # what the control measured dead_s seconds ago: the house's net power then
        seen: cython.double = state[1] if dead_s > 0 else grid0[k]
        for j in range(1, dead_s):
            state[j] = state[j + 1]
        if dead_s > 0:
            state[dead_s] = grid0[k]
        want: cython.double = _aim(seen, p_nom, min_w)
        p = p + alpha * (want - p)
        if fabs(p) < 0.5 * min_w and want == 0.0:
            p = 0.0
        # what the cells can take or give this second
        loss: cython.double = 0.0
        if p > 0.0:
            p, loss, dc = _charge(p, soc_wh, cap_wh, half, p_nom, l0, l1, l2)
            if p > 0.0:
                soc_wh += dc * half / 3600.0
                cell += dc * (1.0 - half) / 3600.0
                ac_in += p / 3600.0
        elif p < 0.0:
            p, loss, need = _discharge(p, soc_wh, min_wh, half, p_nom, l0, l1, l2)
            if p < 0.0:
                soc_wh -= need / half / 3600.0
                cell += need * (1.0 / half - 1.0) / 3600.0
                dc_out += need / half / 3600.0
                ac_out += -p / 3600.0
        conv += loss / 3600.0
        g: cython.double = grid0[k] + p
        if p == 0.0:
            g += standby_w
            stby += standby_w / 3600.0
        if do_io:
            js = 2 * (k // trace_every)
            if g > 0.0:
                slot_io[js] += g / 3600.0
            else:
                slot_io[js + 1] -= g / 3600.0
        if g > 0.0:
            imp += g / 3600.0
        else:
            exp_ -= g / 3600.0
    state[0] = p
    out[O_IMPORT] += imp
    out[O_EXPORT] += exp_
    out[O_AC_IN] += ac_in
    out[O_AC_OUT] += ac_out
    out[O_STANDBY] += stby
    out[O_CONV] += conv
    out[O_CELL] += cell
    out[O_SOC] = soc_wh
    out[O_FULL_EQ] += dc_out
    return soc_wh
