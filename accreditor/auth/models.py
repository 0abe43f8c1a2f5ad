"""People, their memberships in tenants, and login throttling."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accreditor.core.db import Base, TimestampMixin
from accreditor.core.permissions import STAFF_ROLES, Role
from accreditor.core.tenancy import TenantScoped
from accreditor.tenants.models import Tenant


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


class User(UserMixin, TimestampMixin, Base):
    """One account per person, across tenants (freelance assessors work for several ABs)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active_account: Mapped[bool] = mapped_column(Boolean, default=True)
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Rotated on logout, password change or deactivation: every cookie carrying the old value
    # stops working (a signed cookie cannot otherwise be revoked server-side).
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    password_changed_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", lazy="raise")

    # Flask-Login
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.is_active_account and self.password_hash is not None

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def rotate_session_token(self) -> None:
        self.session_token = new_session_token()

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Membership(TenantScoped, TimestampMixin, Base):
    """A user's place in one tenant, with roles. CAB users are bound to one CAB."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A CAB user is bound to exactly one CAB (and confined to it, see core.tenancy.CabScoped).
    cab_id: Mapped[int | None] = mapped_column(ForeignKey("cabs.id", ondelete="RESTRICT"))

    user: Mapped[User] = relationship(back_populates="memberships", lazy="raise")
    tenant: Mapped[Tenant] = relationship(lazy="raise")
    role_rows: Mapped[list[MembershipRole]] = relationship(
        back_populates="membership", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(r.role) for r in self.role_rows)

    def has_any_role(self, *roles: Role) -> bool:
        return self.is_active and bool(self.roles & set(roles))

    @property
    def is_staff(self) -> bool:
        return self.has_any_role(*STAFF_ROLES)

    def set_roles(self, roles) -> None:
        wanted = {Role(r) for r in roles}
        self.role_rows = [r for r in self.role_rows if Role(r.role) in wanted] + [
            MembershipRole(role=r.value) for r in sorted(wanted - self.roles)
        ]


class MembershipRole(TenantScoped, Base):
    __tablename__ = "membership_roles"
    __table_args__ = (UniqueConstraint("membership_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(30))

    membership: Mapped[Membership] = relationship(back_populates="role_rows", lazy="raise")


class LoginThrottle(Base):
    """Failed-login counter per account (e-mail as typed, known or not) and per client IP."""

    __tablename__ = "login_throttles"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    failures: Mapped[int] = mapped_column(default=0)
    first_failure_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]

