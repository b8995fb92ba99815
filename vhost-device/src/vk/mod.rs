//! The Vulkan executor: runs softgpu's command stream for one context on the renderer.
