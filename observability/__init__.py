"""What operators see of a running component: Prometheus metrics, consumer lag, health and readiness."""
