"""What other apps may react to without ``creditdata`` knowing them."""

from django.dispatch import Signal

#: Sent after a pull of an enterprise's data succeeded, with ``run`` (the finished
#: ``IngestionRun``); receivers run in the same process, after the run is saved.
data_pulled = Signal()
