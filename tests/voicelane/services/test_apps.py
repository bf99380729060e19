"""Updating an app's settings on the table: a setting set to None is removed."""

from voicelane.container import Container


def test_update_app_with_none_setting(container: Container) -> None:
    app = container.apps.create_app("upd", destination_allow_list=["+44"])
    repo = container.apps.apps
    updated = repo.update_app(app.app_id, {"destination_allow_list": None, "max_concurrent_calls": 3})
    stored = repo.get_app(app.app_id)
    assert stored.destination_allow_list is None and stored.max_concurrent_calls == 3
    assert updated.max_concurrent_calls == 3
