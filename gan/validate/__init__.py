"""The one layer that checks a composed config, torch-free, before anything is built or written.

`gan.run` calls `preflight` (gan/validate/preflight.py) first thing; the network constructors, the datamodules and
the game call the same checks on their own arguments, so a wrong value gets the same words either way:

- `options`: every named choice of a config key (losses, noises, norms, ...), once; the implementations build
  their tables from these names;
- `values`: whole numbers, numbers and choices, refused with the key named;
- `config`: what every run shares (seed, step limits, trainer, which model goes with which data, safe targets);
- `game`: the loop's `model.*` settings; `networks`: each network's arguments; `data`: each datamodule's values and
  the files it names;
- `preflight`: all of the above on one config, then, with torch, the networks built on the meta device.
"""
