#!/bin/sh
# Guest test: every texture scene of softgpu-scene (issue 7: samplers, mip selection,
# derivatives, gather, depth compare, texel buffers, storage images, input attachments, blits,
# cube maps) renders through the guest ICD and passes its own checks (the textures half of
# /tests/scenes).
exec /tests/scenes textures
