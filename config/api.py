"""OpenAPI generation helpers for drf-spectacular."""


def only_public_api(endpoints):
    """Keep the platform's own ``/api/`` endpoints; Wagtail's admin API is internal."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]
