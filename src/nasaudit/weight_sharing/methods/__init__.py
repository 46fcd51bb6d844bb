"""The shipped weight-sharing methods, one module each (``docs/plugins.md`` lists them). Importing the package
imports every module in it, in sorted order, so that each method registers (``base.WeightSharingMethod``) in the
same order on every run; a new method is a new module here, nothing else to edit."""

import importlib
import pkgutil

for _module in sorted(info.name for info in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")
