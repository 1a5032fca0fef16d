"""Media-monitoring alert daemon.

Data flows one way: sources -> articles -> matching -> stories -> digests -> delivery.
Each stage is a subpackage; `pipeline` is the only module that knows them all.
"""

__version__ = "0.1.0"
