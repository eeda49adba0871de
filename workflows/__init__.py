"""Flows that cross apps: the one place where one app's step leads to another's.

Each flow is a module of plain functions that call each app's services explicitly, in
order, inside one transaction where the steps must commit together, and start the
next step as a background job through ``core.jobs.enqueue``. Only views, API views,
tasks and management commands import this package (an import contract checks it);
no app's services, selectors or models do, and no Django signal carries a domain
step. See docs/architecture.md for each flow as a sequence.
"""
