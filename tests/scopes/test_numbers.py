"""Accreditation numbers from the tenant's format: unique per body, never reused (rule 28)."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.scopes import services
from accreditor.scopes.models import NumberCounter
from accreditor.tenants.models import TenantPolicy
from tests.factories import CAL_LINE, MS_LINE, create_accreditation, create_cab
from tests.scopes.helpers import TEST_LINE, load, page, words


def set_format(tenant, fmt: str) -> None:
    with tenant_scope(tenant):
        db.session.execute(select(TenantPolicy)).scalar_one().accreditation_number_format = fmt
        commit()


def reserve(tenant, acc_id: int) -> str:
    with tenant_scope(tenant):
        number = services.reserve_number(load(tenant, acc_id))
        commit()
    return number


def counter(tenant, key: str = "seq") -> int:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.execute(
            select(NumberCounter.value).where(NumberCounter.key == key)).scalar_one()


def new_cab_acc(tenant, name: str, programme: str = "17025-C") -> int:
    cab = create_cab(tenant, name)
    return create_accreditation(tenant, cab, programme).id


def test_with_format_seq_04d_two_accreditations_get_0001_and_0002(tenant_a):
    set_format(tenant_a, "{seq:04d}")
    first, second = new_cab_acc(tenant_a, "First Lab Ltd"), new_cab_acc(tenant_a, "Second Lab Ltd")
    assert [reserve(tenant_a, first), reserve(tenant_a, second)] == ["0001", "0002"]


def test_the_grant_gives_the_number_and_the_page_shows_it(client, tenant_a, admin_a, login_as,
                                                         cal_acc):
    login_as(admin_a)
    assert "not assigned yet (given at the grant)" in words(client.get(page(cal_acc.id)))
    with tenant_scope(tenant_a):
        services.grant(load(tenant_a, cal_acc.id), effective_on=date(2024, 1, 10))
        commit()
    assert "Accreditation number 0001" in words(client.get(page(cal_acc.id)))
    assert reserve(tenant_a, cal_acc.id) == "0001"  # reserving again changes nothing


def test_a_format_with_the_programme_code_puts_it_in_the_number(tenant_a):
    set_format(tenant_a, "AB-{programme}-{seq:05d}")
    cal = new_cab_acc(tenant_a, "Cal Lab Ltd", "17025-C")
    cb = new_cab_acc(tenant_a, "Cert Body Ltd", "17021-1")
    assert reserve(tenant_a, cal) == "AB-CAL-00001"
    assert reserve(tenant_a, cb) == "AB-MSC-00002"


def test_a_per_cab_format_numbers_a_cabs_accreditations_n_01_and_n_02(tenant_a):
    set_format(tenant_a, "{seq}.{programme_seq:02d}")
    lab = create_cab(tenant_a, "Dual Lab Ltd")
    testing = create_accreditation(tenant_a, lab, "17025-T", lines=[TEST_LINE]).id
    calibration = create_accreditation(tenant_a, lab, "17025-C", lines=[CAL_LINE]).id
    other = create_accreditation(tenant_a, create_cab(tenant_a, "Other CB Ltd"), "17021-1",
                                 lines=[MS_LINE]).id
    first, second, third = (reserve(tenant_a, a) for a in (testing, calibration, other))
    org = first.split(".")[0]
    assert (first, second) == (f"{org}.01", f"{org}.02")
    assert re.fullmatch(r"\d+\.01", third) and third.split(".")[0] != org


def test_numbers_are_never_reused_and_the_counter_only_goes_up(tenant_a):
    set_format(tenant_a, "{seq:04d}")
    ids = [new_cab_acc(tenant_a, f"Lab {n} Ltd") for n in range(3)]
    assert [reserve(tenant_a, i) for i in ids] == ["0001", "0002", "0003"]
    assert counter(tenant_a) == 3
    # The third accreditation is withdrawn: its number stays with it and is not given again.
    with tenant_scope(tenant_a):
        acc = load(tenant_a, ids[2])
        acc.status = "withdrawn"
        commit()
    assert reserve(tenant_a, new_cab_acc(tenant_a, "Lab 4 Ltd")) == "0004"
    assert counter(tenant_a) == 4


def test_after_a_format_change_a_number_already_in_use_is_skipped(tenant_a):
    set_format(tenant_a, "{seq:04d}")
    ids = [new_cab_acc(tenant_a, f"Lab {n} Ltd") for n in range(3)]
    assert [reserve(tenant_a, i) for i in ids] == ["0001", "0002", "0003"]
    # A body carried over from the previous register already holds "AB-4".
    legacy = new_cab_acc(tenant_a, "Legacy Lab Ltd")
    with tenant_scope(tenant_a):
        load(tenant_a, legacy).number = "AB-4"
        commit()
    set_format(tenant_a, "AB-{seq}")
    assert reserve(tenant_a, new_cab_acc(tenant_a, "Next Lab Ltd")) == "AB-5"
    assert reserve(tenant_a, new_cab_acc(tenant_a, "Later Lab Ltd")) == "AB-6"
    assert counter(tenant_a) == 6


def test_numbers_of_two_bodies_are_independent(tenant_a, tenant_b):
    set_format(tenant_a, "{seq:04d}")
    set_format(tenant_b, "{seq:04d}")
    a = new_cab_acc(tenant_a, "Alpha Lab Ltd")
    b = new_cab_acc(tenant_b, "Bravo Lab Ltd")
    assert (reserve(tenant_a, a), reserve(tenant_b, b)) == ("0001", "0001")
