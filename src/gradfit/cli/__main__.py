"""``python -m gradfit.cli``: the ``gradfit`` command."""

from gradfit.cli import main

main()
