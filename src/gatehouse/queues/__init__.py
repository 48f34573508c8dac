"""Job queues: the in-process default and a broker adapter."""
