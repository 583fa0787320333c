"""Typed job handlers: one module per job type, found by name, validated, rate-limited per type.

Public API: queue_handlers.services (enqueue_job, enqueue_email, …), queue_handlers.registry
(register_handler, list_handlers, validate_all_handlers), queue_handlers.monitoring
(health_check, get_processing_stats), queue_handlers.base (JobHandler and the errors).
"""
