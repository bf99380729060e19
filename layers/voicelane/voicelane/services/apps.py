"""Apps and API keys: creation, revocation, authentication."""

from __future__ import annotations

import hashlib
import secrets
import string

from voicelane.contracts.apps import AppSettingsPatch
from voicelane.domain.errors import NotFound, Unauthenticated, ValidationFailed
from voicelane.domain.ids import new_id
from voicelane.domain.models import ApiKey, App
from voicelane.ports import AppRepository
from voicelane.services.clock import now_iso

_ALPHABET = string.ascii_letters + string.digits


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


class AppService:
    def __init__(self, apps: AppRepository) -> None:
        self.apps = apps

    def create_app(self, name: str, **settings: object) -> App:
        if not name or len(name) > 128:
            raise ValidationFailed("app name must be 1-128 characters", code="invalid_name")
        app = App.model_validate(
            {"app_id": new_id("app"), "name": name, "created_at": now_iso(), **settings}
        )
        self.apps.put_app(app)
        return app

    def get_app(self, app_id: str) -> App:
        app = self.apps.get_app(app_id)
        if app is None:
            raise NotFound("app not found", code="app_not_found")
        return app

    def update_settings(self, app_id: str, patch: AppSettingsPatch) -> App:
        """Change the app's calls-per-second cap and/or destination allow-list (validated by
        the contract; a null one returns to the default), one conditional write."""
        return self.apps.update_app(app_id, patch.changes())

    def create_key(self, app_id: str, mode: str) -> tuple[ApiKey, str]:
        """A new key for the app; the plaintext is returned once and never stored."""
        if mode not in ("test", "live"):
            raise ValidationFailed("mode must be test or live", code="invalid_mode")
        self.get_app(app_id)
        plaintext = f"sk_{mode}_" + "".join(secrets.choice(_ALPHABET) for _ in range(40))
        key = ApiKey(
            key_id=new_id("key"),
            app_id=app_id,
            mode=mode,
            key_hash=hash_key(plaintext),
            prefix=plaintext[:12],
            created_at=now_iso(),
        )
        self.apps.put_key(key)
        return key, plaintext

    def revoke_key(self, key_id: str) -> None:
        self.apps.revoke_key(key_id)

    def live_key(self, app: App, key_id: str) -> ApiKey:
        """The app's key ``key_id`` if it still authenticates (a live connection's key may
        have been revoked since it connected); Unauthenticated otherwise."""
        key = self.apps.get_key(key_id)
        if key is None or key.revoked or key.app_id != app.app_id:
            raise Unauthenticated("the key this connection used is no longer valid",
                                  code="invalid_api_key")
        return key

    def authenticate(self, token: str | None) -> tuple[App, ApiKey]:
        """The app and key of a bearer token; Unauthenticated for anything else."""
        if not token or not token.startswith(("sk_test_", "sk_live_")) or len(token) > 200:
            raise Unauthenticated("a valid API key is required", code="invalid_api_key")
        key = self.apps.get_key_by_hash(hash_key(token))
        if key is None or key.revoked:
            raise Unauthenticated("a valid API key is required", code="invalid_api_key")
        app = self.apps.get_app(key.app_id)
        if app is None:
            raise Unauthenticated("a valid API key is required", code="invalid_api_key")
        return app, key
