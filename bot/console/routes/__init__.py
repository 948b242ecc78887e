"""Console routers (each built with ``bot.console.deps.console_router``)."""
