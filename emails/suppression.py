"""The suppression list: addresses every sender in this project refuses."""

from __future__ import annotations

from collections.abc import Iterable

from emails.models import Suppression


class SuppressedAddressError(ValueError):
    """Sending to a suppressed address was refused."""

    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses
        super().__init__(
            f"refused: {len(addresses)} suppressed address(es) (hard bounce or complaint); "
            "remove them from the suppression list in the admin to send again"
        )


def suppressed(addresses: Iterable[str]) -> list[str]:
    wanted = {a.strip().lower() for a in addresses if a}
    if not wanted:
        return []
    return sorted(Suppression.objects.filter(address__in=wanted).values_list("address", flat=True))


def ensure_not_suppressed(addresses: Iterable[str]) -> None:
    """Raise SuppressedAddressError when any address is on the list."""
    found = suppressed(addresses)
    if found:
        raise SuppressedAddressError(found)


def suppression_add(*, address: str, reason: str, detail: str = "") -> Suppression:
    obj, _ = Suppression.objects.get_or_create(
        address=address.strip().lower(), defaults={"reason": reason, "detail": detail[:200]}
    )
    return obj
