"""Names fixed by data migrations, importable without loading a migration."""

PLATFORM_NAME = "信易贷平台运营中心"
