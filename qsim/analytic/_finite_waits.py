"""Exact FCFS wait and response laws of the finite-capacity M/M/c/K queue.

An accepted message that finds c + j messages (j = 0 .. K-c-1) waits for j + 1
departures of the full pool, an Erlang(j + 1, c mu) time; one that finds a free
server does not wait. By PASTA the position J = j of a waiting arrival has
P(J = j) proportional to rho^j on 0 .. n with n = K - c - 1, so

    P(Wq > t | Wq > 0) = P(N <= J),        N ~ Poisson(s), s = c mu t,
    P(W > t | Wq > 0)  = P(N <= J + G),    G ~ Geometric(1/c) on {1, 2, ...},

the second because an Exp(mu) service is a Geometric(1/c) number of Exp(c mu) phases.
Both are sums sum_k Poisson(k; s) P(D >= k) of positive terms with D log-concave, so
the summand is log-concave in k: :func:`poisson_mixture_cdf` finds its mode by grid
refinement and adds only the window around it where a term can be within e^-46 of
the peak. The cost is O(sqrt(s)) terms per queue whatever K is, and every term is
formed in log space (no cancellation). Quantiles invert these exact tails by a
bracketed Illinois (modified regula falsi) iteration on log P(> t).

Ref: Gross, Shortle, Thompson & Harris, Fundamentals of Queueing Theory, 4th ed.,
sec. 2.5 (the M/M/c/K waiting-time distribution as a mixture of Erlang laws).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from qsim.analytic._special import poisson_logpmf
from qsim.analytic._waits import WaitLaw, exponential_response_tail

F = NDArray[np.float64]
Rows = NDArray[np.intp]
LogSurvival = Callable[[F, Rows], F]

__all__ = ["FiniteCapacityWaitLaw", "QueuePosition", "invert_log_tail", "poisson_mixture_cdf"]

# NOTE: terms more than e^-46 below the peak are dropped. The summand is log-concave, so
# beyond the window edge (half-width w about sqrt(92 mode)) they decay at least
# geometrically, by a factor e^-(w / (mode + w)) a step: their total is below 2e-17 of
# the peak for modes up to 1e8 (2e-16 up to 1e10).
_DROP = 46.0
# A peak below e^-800 means the whole sum underflows to 0 in double precision.
_NEGLIGIBLE = -800.0
_CELLS = 1 << 20  # terms evaluated per call when summing windows
_MAX_TERMS = 1 << 27  # beyond this a tail call would take minutes: refuse


def _lgs(xs: F, r: F, log_den: F) -> F:
    """log sum_{j=0}^{r} e^{j xs} for xs <= 0, r >= 0 (may be inf).

    ``log_den`` = log(1 - e^{xs}) (any finite value where xs = 0); same formula as
    :func:`qsim.analytic._special.log_geom_sum`, without its masks (this is hot).
    """
    neg = xs < 0
    body = np.log(-np.expm1((r + 1.0) * np.where(neg, xs, -1.0))) - log_den
    return np.where(neg, body, np.log1p(r))


def _log_den(xs: F) -> F:
    return np.log(-np.expm1(np.where(xs < 0, xs, -1.0)))


class QueuePosition:
    """Laws of J (queue position seen by a waiting arrival) and of J + G, per queue.

    P(J = j) is proportional to e^{j x} on j = 0..n; G ~ Geometric on {1, 2, ...} with
    P(G > g) = q^g, lq = log q (-inf for one server: G = 1). The arrays are 1-D, one
    entry per queue; the methods take k with an index array ``rows`` of queues that
    broadcasts against it.
    """

    def __init__(self, x: F, n: F, lq: F) -> None:
        self.x, self.n = x, n
        self.xs = -np.abs(x)
        self.den_x = _log_den(self.xs)
        self.norm = _lgs(self.xs, n, self.den_x)
        self.geo = np.isfinite(lq)
        self.lq = np.where(self.geo, lq, -1.0)
        y = x - self.lq  # log(rho / q)
        self.up = y > 0
        self.ys = -np.abs(y)
        self.den_y = _log_den(self.ys)

    def log_survival(self, k: F, rows: Rows) -> F:
        """log P(J >= k) (k >= 0 integer-valued; -inf above n).

        Written as log(sum_{j=k}^{n} e^{j x} / sum_{j=0}^{n} e^{j x}) with both sums taken
        from their largest term (the top one when x > 0), so no n x is ever formed and
        then subtracted.
        """
        x, n = self.x[rows], self.n[rows]
        inside = k <= n
        kk = np.where(inside, k, 0.0)
        body = _lgs(self.xs[rows], n - kk, self.den_x[rows]) - self.norm[rows]
        out = body + np.where(x <= 0, kk * x, 0.0)
        return np.where(inside, out, -np.inf)

    def log_survival_plus_geometric(self, k: F, rows: Rows) -> F:
        """log P(J + G >= k).

        With r = k - 1 and G0 = G - 1: P(J + G0 >= r) = P(J >= r) + sum_{j < r} P(J = j)
        q^(r-j). That geometric sum is factored at its largest term (j = 0 if rho <= q,
        else j = min(r - 1, n)) so that every exponent is a sum of same-signed parts.
        """
        x, n, lq, up = self.x[rows], self.n[rows], self.lq[rows], self.up[rows]
        r = np.maximum(k - 1.0, 0.0)
        first = self.log_survival(r, rows)
        has = (r >= 1) & self.geo[rows]
        rp = np.where(has, np.minimum(r - 1.0, n), 0.0)
        j0 = np.where(up, rp, 0.0)
        second = (
            (r - j0) * lq
            + _lgs(self.ys[rows], rp, self.den_y[rows])
            # log(rho^j0 / sum_{j=0}^{n} rho^j), without n x for rho > 1
            + np.where(x > 0, (j0 - n) * x, j0 * x)
            - self.norm[rows]
        )
        second = np.where(has, second, -np.inf)
        return np.where(k <= 1, 0.0, np.logaddexp(first, second))


def _grid_mode(ell: Callable[[F, Rows], F], top: F) -> tuple[F, F]:
    """argmax and max of a concave ell(k) over the integers 0..top, elementwise.

    Each pass evaluates a grid of ``grid + 1`` points per queue in one call and keeps
    the two grid cells around the best point (concavity puts the maximum there), so
    a range R needs about log(R) / log(grid / 2) passes. Wide grids for few queues
    (fewer calls), narrow ones for many (fewer terms).
    """
    grid = int(np.clip(8192 // max(top.size, 1), 16, 128))
    lo = np.zeros(top.shape)
    hi = top.copy()
    peak = np.empty(top.shape)
    steps = np.arange(grid + 1, dtype=np.float64)
    act = np.arange(top.size)  # every queue once, so that peak is set even where top = 0
    while act.size:
        la, ha = lo[act], hi[act]
        k = np.minimum(la[:, None] + np.ceil(steps * ((ha - la) / grid)[:, None]), ha[:, None])
        vals = ell(k, act[:, None])
        best = np.argmax(vals, axis=1)
        idx = np.arange(act.size)
        pick = k[idx, best]
        peak[act] = vals[idx, best]
        fine = ha - la <= grid  # every integer was on the grid
        lo[act] = np.where(fine, pick, k[idx, np.maximum(best - 1, 0)])
        hi[act] = np.where(fine, pick, k[idx, np.minimum(best + 1, grid)])
        act = act[hi[act] > lo[act]]
    return lo, peak


def poisson_mixture_cdf(s: F, log_surv: LogSurvival, kmax: F) -> F:
    """P(N <= D) = sum_{k=0}^{kmax} Poisson(k; s) P(D >= k), elementwise over 1-D arrays.

    ``log_surv(k, rows)`` returns log P(D >= k) for the queues ``rows``; it must be
    concave and non-increasing in k (D log-concave) and -inf above ``kmax`` (which may
    be inf). s must be finite and >= 0.
    """
    size = s.size
    if size == 0:
        return np.zeros(0)

    def ell(k: F, rows: Rows) -> F:
        return poisson_logpmf(k, s[rows]) + log_surv(k, rows)

    # The mode lies at or below ceil(s) (the Poisson mode) and kmax (the support end).
    mode, peak = _grid_mode(ell, np.minimum(kmax, np.ceil(s)))
    # NOTE: ell is at least as concave as log Poisson(k; s), whose second difference is
    # below -1/(k + 1). Walking d steps from the mode it has fallen by at least
    # d (d - 1) / (2 (mode + d + 1)), which reaches _DROP at the window edges below.
    left = np.maximum(mode - np.ceil(1.0 + np.sqrt(2.0 * _DROP * (mode + 1.0))), 0.0)
    half = _DROP + 0.5
    reach = half + np.sqrt(half**2 + 2.0 * _DROP * (mode + 1.0))
    right = np.minimum(mode + np.ceil(reach), kmax)
    width = np.where(peak >= _NEGLIGIBLE, right - left + 1.0, 0.0).astype(np.int64)
    # Sum the ragged windows as one flat array of terms, _CELLS terms at a time.
    ends = np.cumsum(width)
    count = int(ends[-1])
    if count > _MAX_TERMS:
        raise NotImplementedError(
            f"The exact M/M/c/K wait law needs {count:.3g} terms here (queues of about "
            f"{float(np.max(mode)):.3g} messages ahead of an arrival); above "
            f"{_MAX_TERMS:.3g} terms it is not summed."
        )
    starts = ends - width
    total = np.zeros(size)
    for first in range(0, count, _CELLS):
        cell = np.arange(first, min(first + _CELLS, count))
        rows = np.searchsorted(ends, cell, side="right")
        terms = np.exp(ell(left[rows] + (cell - starts[rows]), rows) - peak[rows])
        total += np.bincount(rows, weights=terms, minlength=size)
    with np.errstate(under="ignore"):
        out = np.where(width > 0, np.exp(peak) * total, 0.0)
    return np.minimum(out, 1.0)


def invert_log_tail(tail: Callable[[F, Rows], F], q: F, scale: F, active: NDArray[np.bool_]) -> F:
    """Smallest t >= 0 with tail(t) <= q, for 1-D arrays, where ``active`` (nan elsewhere).

    ``tail(t, idx)`` gives the tails of entries ``idx`` at times t (so that converged
    entries are not evaluated again); it must be continuous and decreasing with
    tail(0) > q on active entries. Solved on g(t) = log tail(t) - log q: the bracket
    [t / 2, t] is found by doubling from ``scale``, then narrowed by the Illinois
    variant of regula falsi (superlinear), with a bisection every fourth step as a
    guarantee, to a relative width of 1e-14: about ten tail calls where the bisection
    of :func:`qsim.analytic._waits.invert_tail` needs fifty.
    """
    lo = np.zeros(q.shape)
    hi = np.maximum(scale, np.finfo(float).tiny)
    g_lo = np.zeros(q.shape)
    g_hi = np.zeros(q.shape)
    side = np.zeros(q.shape)  # -1: lo moved last, +1: hi moved last
    with np.errstate(divide="ignore"):
        lq = np.log(q)

        def g(t: F, idx: Rows) -> F:
            return np.log(tail(t, idx)) - lq[idx]  # type: ignore[no-any-return]

        idx = np.nonzero(active)[0]
        g_lo[idx] = g(lo[idx], idx)
        while idx.size:  # doubling
            g_hi[idx] = g(hi[idx], idx)
            idx = idx[g_hi[idx] > 0]
            lo[idx], g_lo[idx] = hi[idx], g_hi[idx]
            hi[idx] *= 2.0
        for it in range(400):
            idx = np.nonzero(active & (hi - lo > 1e-14 * hi))[0]
            if idx.size == 0:
                break
            a, b, ga, gb = lo[idx], hi[idx], g_lo[idx], g_hi[idx]
            with np.errstate(invalid="ignore", over="ignore"):
                t = b - gb * (b - a) / (gb - ga)
            # At least a quarter of the tolerance inside the bracket, so that an end
            # sitting on the root is confirmed by the next call instead of being
            # approached one bisection at a time.
            t = np.clip(t, a + 0.25e-14 * b, b - 0.25e-14 * b)
            rf = np.isfinite(gb) & np.isfinite(t) & (it % 4 != 3)
            t = np.where(rf, t, 0.5 * (a + b))
            gt = g(t, idx)
            up = gt > 0
            # Illinois: an end kept twice in a row has its value halved
            g_hi[idx] = np.where(up, np.where(side[idx] < 0, 0.5 * gb, gb), gt)
            g_lo[idx] = np.where(up, gt, np.where(side[idx] > 0, 0.5 * ga, ga))
            lo[idx] = np.where(up, t, a)
            hi[idx] = np.where(up, b, t)
            side[idx] = np.where(up, -1.0, 1.0)
    return np.where(active, hi, np.nan)


class FiniteCapacityWaitLaw(WaitLaw):
    """Wait and response of accepted FCFS messages in M/M/c/K (K may be inf).

    Parameters are arrays of the queue's shape: ``p_wait`` = P(accepted arrival
    waits), ``log_rho`` = log(lambda / (c mu)), ``n`` = K - c - 1 (inf for an
    unbounded queue, where the law is M/M/c's: exponential wait of rate c mu - lambda).
    Entries with p_wait = 0 never wait and are served in Exp(mu). Exact.
    """

    def __init__(
        self,
        *,
        stable: NDArray[np.bool_],
        p_wait: F,
        mean_response: F,
        mu: F,
        servers: F,
        log_rho: F,
        n: F,
    ) -> None:
        super().__init__(stable=stable, p_wait=p_wait, mean_response=mean_response)
        shape = self.stable.shape
        waits = self.stable & (self.p_wait > 0)
        finite = waits & np.isfinite(n)
        unbounded = waits & np.isinf(n)
        # Harmless stand-ins where a branch does not apply (its result is discarded).
        x = np.where(waits, log_rho, -1.0)
        mu, c = np.broadcast_to(mu, shape), np.broadcast_to(servers, shape)
        with np.errstate(divide="ignore"):
            lq = np.log1p(-1.0 / c)
        theta = np.where(unbounded, c * mu * -np.expm1(x), 1.0)  # c mu - lambda
        self._ids = np.arange(self.stable.size).reshape(shape)
        self._flat = {
            "mu": mu.ravel(),
            "c": c.ravel(),
            "p_wait": np.broadcast_to(self.p_wait, shape).ravel(),
            "finite": finite.ravel(),
            "unbounded": unbounded.ravel(),
            "theta": theta.ravel(),
        }
        self._pos = QueuePosition(x.ravel(), np.where(finite, n, 0.0).ravel(), lq.ravel())

    def _tails(self, t: F, ids: Rows, response: bool) -> F:
        """P(Wq > t) or P(W > t) of queues ``ids`` (flat indices) at times t (1-D)."""
        f = {k: v[ids] for k, v in self._flat.items()}
        mix = np.zeros(t.shape)
        sel = np.nonzero(f["finite"] & np.isfinite(t))[0]
        if sel.size:
            rows = ids[sel]
            s = f["c"][sel] * f["mu"][sel] * t[sel]
            if response:
                surv, kmax = self._pos.log_survival_plus_geometric, np.full(sel.size, np.inf)
            else:
                surv, kmax = self._pos.log_survival, self._pos.n[rows]

            def log_surv(k: F, r: Rows) -> F:
                return surv(k, rows[r])

            mix[sel] = poisson_mixture_cdf(s, log_surv, kmax)
        p_wait, mu, theta = f["p_wait"], f["mu"], f["theta"]
        if response:
            finite = (1.0 - p_wait) * np.exp(-mu * t) + p_wait * mix
            expo = exponential_response_tail(t, p_wait, theta, mu)
        else:
            finite = p_wait * mix
            expo = p_wait * np.exp(-theta * t)
        return np.where(f["unbounded"], expo, finite)

    def _full(self, t: F, response: bool) -> F:
        t, ids = np.broadcast_arrays(np.asarray(t, np.float64), self._ids)
        return self._tails(t.ravel(), ids.ravel(), response).reshape(t.shape)

    def _wait_tail(self, t: F) -> F:
        return self._full(t, response=False)

    def _response_tail(self, t: F) -> F:
        return self._full(t, response=True)

    def _quantile(self, p: F, response: bool) -> F:
        q, ids = np.broadcast_arrays(1.0 - np.asarray(p, np.float64), self._ids)
        ids = ids.ravel()
        active = self.stable.ravel()[ids]
        if not response:  # the atom at 0 covers p <= 1 - p_wait
            active = active & (self._flat["p_wait"][ids] > q.ravel())
        t = invert_log_tail(
            lambda tt, sub: self._tails(tt, ids[sub], response),
            q.ravel(),
            np.broadcast_to(self.mean_response, self.stable.shape).ravel()[ids],
            active,
        )
        t = np.where(active, t, 0.0).reshape(q.shape)
        return self._finish_quantile(t)

    def wait_quantile(self, p: F) -> F:
        return self._quantile(p, response=False)

    def response_quantile(self, p: F) -> F:
        return self._quantile(p, response=True)
