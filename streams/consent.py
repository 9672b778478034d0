"""Per-user consent per signal domain. Pure functions over the plain dict kept in the user's record (JSON).

Consent state: ``{domain: {"granted": bool, "at": ms, "since": ms | None}}``. Only domains the user made a choice
for appear; the others follow the default policy (``INTERESTS_CONSENT_DEFAULT``: ``granted``, the default, or
``denied``). ``at`` is the event time of the latest choice applied; ``since`` is when the current granted period
began (None: granted by default from the start).

Rules:

* a signal may enter a history only if its domain is granted now *and* its event time is not before the start of
  the current granted period: signals from before a revocation stay forgotten after a later grant, and under the
  ``denied`` default nothing from before the first grant is used;
* a choice older than the one recorded for its domain is ignored (a redelivered or late choice cannot undo a newer
  one); equal times apply in arrival order;
* a revocation asks the caller to purge the domain's signals already kept (:func:`apply` returns the domains).
"""

from __future__ import annotations

GRANTED, DENIED = "granted", "denied"
POLICIES = (GRANTED, DENIED)


def check_policy(default: str) -> str:
    if default not in POLICIES:
        raise ValueError(f"consent default must be {GRANTED!r} or {DENIED!r}, not {default!r} "
                         f"(INTERESTS_CONSENT_DEFAULT)")
    return default


def granted(consent: dict, domain: str, default: str) -> bool:
    """Is ``domain`` granted now (explicitly, or by the default policy)?"""
    choice = consent.get(domain)
    return default == GRANTED if choice is None else bool(choice["granted"])


def allowed(consent: dict, domain: str, ts: int, default: str) -> bool:
    """May a signal of ``domain`` stamped ``ts`` enter the user's history?"""
    if not granted(consent, domain, default):
        return False
    choice = consent.get(domain)
    since = choice.get("since") if choice else None
    return since is None or ts >= since


def apply(consent: dict, domains: list[str], grant: bool, at: int, default: str) -> list[str]:
    """Record one choice for ``domains`` made at event time ``at``. Returns the domains it revoked (granted before,
    denied now): the caller purges their signals."""
    revoked = []
    for domain in domains:
        choice = consent.get(domain)
        if choice is not None and at < choice["at"]:
            continue  # older than the choice already recorded
        was = granted(consent, domain, default)
        if grant:
            since = (choice.get("since") if choice else None) if was else at
            consent[domain] = {"granted": True, "at": at, "since": since}
        else:
            consent[domain] = {"granted": False, "at": at, "since": None}
            if was:
                revoked.append(domain)
    return revoked
