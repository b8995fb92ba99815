#!/usr/bin/env python3
"""Generates guest-icd/src/entry_points.rs (name -> fn table) and src/unimplemented.rs.

Every Vulkan 1.0 command plus the commands of the extensions we expose gets an entry. A
command is implemented when some src/*.rs file (other than the two generated ones) defines
`pub(crate) unsafe extern "system" fn <snake_name>(`; every other command gets a stub in
unimplemented.rs that fails visibly. Signatures come from ash's PFN types, so a mismatch is a
compile error. Run after adding an implementation:  python3 guest-icd/tools/gen_entry_points.py
"""
import glob, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "src")
ASH = glob.glob(os.path.expanduser("~/.cargo/registry/src/*/ash-0.38.0+1.3.281/src"))[0]

tables = open(os.path.join(ASH, "tables.rs")).read()

def struct_fields(name):
    m = re.search(r"pub struct %s \{(.*?)\n\}" % name, tables, re.S)
    return re.findall(r"PFN_(vk\w+)", m.group(1))

CORE = struct_fields("EntryFnV1_0") + struct_fields("InstanceFnV1_0") + struct_fields("DeviceFnV1_0")
# Extension commands we expose: (name as the app asks for it, core PFN it aliases).
EXT = [
    # VK_KHR_get_physical_device_properties2
    ("vkGetPhysicalDeviceFeatures2KHR", "vkGetPhysicalDeviceFeatures2"),
    ("vkGetPhysicalDeviceProperties2KHR", "vkGetPhysicalDeviceProperties2"),
    ("vkGetPhysicalDeviceFormatProperties2KHR", "vkGetPhysicalDeviceFormatProperties2"),
    ("vkGetPhysicalDeviceImageFormatProperties2KHR", "vkGetPhysicalDeviceImageFormatProperties2"),
    ("vkGetPhysicalDeviceQueueFamilyProperties2KHR", "vkGetPhysicalDeviceQueueFamilyProperties2"),
    ("vkGetPhysicalDeviceMemoryProperties2KHR", "vkGetPhysicalDeviceMemoryProperties2"),
    ("vkGetPhysicalDeviceSparseImageFormatProperties2KHR", "vkGetPhysicalDeviceSparseImageFormatProperties2"),
    # VK_KHR_timeline_semaphore
    ("vkGetSemaphoreCounterValueKHR", "vkGetSemaphoreCounterValue"),
    ("vkWaitSemaphoresKHR", "vkWaitSemaphores"),
    ("vkSignalSemaphoreKHR", "vkSignalSemaphore"),
    # VK_KHR_synchronization2
    ("vkCmdSetEvent2KHR", "vkCmdSetEvent2"),
    ("vkCmdResetEvent2KHR", "vkCmdResetEvent2"),
    ("vkCmdWaitEvents2KHR", "vkCmdWaitEvents2"),
    ("vkCmdPipelineBarrier2KHR", "vkCmdPipelineBarrier2"),
    ("vkCmdWriteTimestamp2KHR", "vkCmdWriteTimestamp2"),
    ("vkQueueSubmit2KHR", "vkQueueSubmit2"),
    # VK_KHR_create_renderpass2
    ("vkCreateRenderPass2KHR", "vkCreateRenderPass2"),
    ("vkCmdBeginRenderPass2KHR", "vkCmdBeginRenderPass2"),
    ("vkCmdNextSubpass2KHR", "vkCmdNextSubpass2"),
    ("vkCmdEndRenderPass2KHR", "vkCmdEndRenderPass2"),
    # VK_KHR_dynamic_rendering
    ("vkCmdBeginRenderingKHR", "vkCmdBeginRendering"),
    ("vkCmdEndRenderingKHR", "vkCmdEndRendering"),
    # VK_KHR_draw_indirect_count
    ("vkCmdDrawIndirectCountKHR", "vkCmdDrawIndirectCount"),
    ("vkCmdDrawIndexedIndirectCountKHR", "vkCmdDrawIndexedIndirectCount"),
    # VK_EXT_extended_dynamic_state
    ("vkCmdSetCullModeEXT", "vkCmdSetCullMode"),
    ("vkCmdSetFrontFaceEXT", "vkCmdSetFrontFace"),
    ("vkCmdSetPrimitiveTopologyEXT", "vkCmdSetPrimitiveTopology"),
    ("vkCmdSetViewportWithCountEXT", "vkCmdSetViewportWithCount"),
    ("vkCmdSetScissorWithCountEXT", "vkCmdSetScissorWithCount"),
    ("vkCmdBindVertexBuffers2EXT", "vkCmdBindVertexBuffers2"),
    ("vkCmdSetDepthTestEnableEXT", "vkCmdSetDepthTestEnable"),
    ("vkCmdSetDepthWriteEnableEXT", "vkCmdSetDepthWriteEnable"),
    ("vkCmdSetDepthCompareOpEXT", "vkCmdSetDepthCompareOp"),
    ("vkCmdSetDepthBoundsTestEnableEXT", "vkCmdSetDepthBoundsTestEnable"),
    ("vkCmdSetStencilTestEnableEXT", "vkCmdSetStencilTestEnable"),
    ("vkCmdSetStencilOpEXT", "vkCmdSetStencilOp"),
    # VK_EXT_extended_dynamic_state2
    ("vkCmdSetPatchControlPointsEXT", "vkCmdSetPatchControlPointsEXT"),
    ("vkCmdSetRasterizerDiscardEnableEXT", "vkCmdSetRasterizerDiscardEnable"),
    ("vkCmdSetDepthBiasEnableEXT", "vkCmdSetDepthBiasEnable"),
    ("vkCmdSetLogicOpEXT", "vkCmdSetLogicOpEXT"),
    ("vkCmdSetPrimitiveRestartEnableEXT", "vkCmdSetPrimitiveRestartEnable"),
]
# Answered by lib.rs itself, not through the table.
SKIP = {"vkGetInstanceProcAddr"}

pfn_src = "".join(open(os.path.join(ASH, "vk", f)).read() for f in ("features.rs", "extensions.rs"))

def signature(pfn):
    m = re.search(r"pub type PFN_%s =\s*unsafe extern \"system\" fn\((.*?)\)( -> ([\w:]+))?;" % pfn, pfn_src, re.S)
    if not m:
        sys.exit("no PFN for " + pfn)
    params = []
    for p in m.group(1).split(","):
        p = " ".join(p.split())
        if not p:
            continue
        n, t = p.split(":", 1)
        params.append((n.strip(), t.strip().replace("crate::vk::", "vk::")))
    return params, m.group(3)

def snake(name):
    s = name[2:]
    s = re.sub(r"KHR$", "Khr", s)
    s = re.sub(r"(\d)([A-Z])", r"\1_\2", s)
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s)
    return s.lower()

def qualify(t):
    # ash writes vk types unqualified inside its own module.
    def q(m):
        w = m.group(0)
        if w in ("c_char", "c_void", "u32", "u64", "i32", "f32", "usize", "const", "mut", "vk", "_"):
            return w
        return "vk::" + w
    t = re.sub(r"(?<![:\w])[A-Z]\w*", q, t)
    t = t.replace("c_char", "std::ffi::c_char").replace("c_void", "std::ffi::c_void")
    return t

impls = {}
for path in glob.glob(os.path.join(SRC, "**", "*.rs"), recursive=True):
    base = os.path.relpath(path, SRC)
    if base in ("entry_points.rs", "unimplemented.rs") or base.startswith("transport"):
        continue
    mod = base[:-3].replace("/", "::").replace("::mod", "")
    for fn in re.findall(r"pub\(crate\) unsafe extern \"system\" fn (\w+)\(", open(path).read()):
        impls[fn] = mod

entries = [(n, n) for n in CORE if n not in SKIP] + EXT

def level(params, name):
    if name in ("vkCreateInstance", "vkEnumerateInstanceExtensionProperties", "vkEnumerateInstanceLayerProperties"):
        return "Global"
    first = qualify(params[0][1]) if params else ""
    if first in ("vk::Instance",):
        return "Instance"
    if first in ("vk::PhysicalDevice",):
        return "PhysicalDevice"
    return "Device"

table, stubs = [], []
for name, core in entries:
    params, ret = signature(core)
    fn = snake(name)
    if fn in impls:
        path = "crate::%s::%s" % (impls[fn], fn)
    else:
        path = "crate::unimplemented::%s" % fn
        args = ", ".join("%s: %s" % ("_" + n if i else n, qualify(t)) for i, (n, t) in enumerate(params))
        first_used = params and params[0][0]
        r = qualify(ret) if ret else None
        body = []
        if r == "vk::Result":
            body.append('    crate::unimplemented::report("%s");' % name)
            err = "ERROR_FORMAT_NOT_SUPPORTED" if "ImageFormatProperties" in name else "ERROR_FEATURE_NOT_PRESENT"
            body.append("    vk::Result::%s" % err)
        elif name.startswith("vkCmd"):
            body.append('    // SAFETY: the loader passes a command buffer of ours (valid usage).\n    unsafe { crate::command_buffer::record_unimplemented(%s, "%s") };' % (params[0][0], name))
        elif r is None:
            body.append('    crate::unimplemented::report("%s");' % name)
        else:
            body.append('    crate::unimplemented::report("%s");' % name)
            body.append("    0")
        if not name.startswith("vkCmd"):
            args = args.replace("%s: " % params[0][0], "_%s: " % params[0][0], 1)
        stubs.append("/// `%s`: not implemented; fails visibly.\n///\n/// # Safety\n/// Called by the loader with the arguments of `PFN_%s`.\npub(crate) unsafe extern \"system\" fn %s(%s)%s {\n%s\n}\n" % (
            name, core, fn, args, (" -> " + r) if r else "", "\n".join(body)))
    table.append('        b"%s" => entry!(%s, PFN_%s, %s),' % (name, level(params, name), core, path))

with open(os.path.join(SRC, "entry_points.rs"), "w") as f:
    f.write("""//! The name → function table behind `vkGet*ProcAddr` (generated by
//! `tools/gen_entry_points.py`; edit the generator, not this file). Every Vulkan 1.0 command
//! and every command of an extension we expose is here; those not implemented yet point into
//! [`crate::unimplemented`]. Each entry is coerced to ash's `PFN_*` type first, so a wrong
//! signature does not compile.

use ash::vk;

/// Which dispatchable object a command is called on: decides which `GetProcAddr` answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// No dispatchable object (vkCreateInstance, instance enumeration).
    Global,
    Instance,
    PhysicalDevice,
    /// Device, queue or command buffer.
    Device,
}

macro_rules! entry {
    ($level:ident, $pfn:ident, $path:path) => {{
        let f: vk::$pfn = $path;
        // SAFETY: casting one `extern "system"` fn pointer type to another; the loader casts
        // it back to `$pfn`, the type it was checked against above.
        (Level::$level, unsafe { std::mem::transmute::<vk::$pfn, unsafe extern "system" fn()>(f) })
    }};
}

/// The command called `name` (without the NUL), if we have it.
pub(crate) fn lookup(name: &[u8]) -> Option<(Level, unsafe extern "system" fn())> {
    Some(match name {
%s
        _ => return None,
    })
}

/// Every name in the table (tests check each resolves).
#[cfg(test)]
pub(crate) const NAMES: &[&str] = &[
%s
];
""" % ("\n".join(table), "\n".join('    "%s",' % n for n, _ in entries)))

with open(os.path.join(SRC, "unimplemented.rs"), "w") as f:
    f.write("""//! Vulkan commands softgpu does not implement yet (generated by `tools/gen_entry_points.py`).
//! Each fails visibly: a `VkResult` error, a logged error for `void` commands, and for a
//! recorded command a broken command buffer whose submission returns `VK_ERROR_DEVICE_LOST`.
//! Graphics and image commands are here until the image and graphics issues land.

#![allow(clippy::too_many_arguments)]

use ash::vk;

/// Logs that the application called a command we do not implement.
pub(crate) fn report(name: &str) {
    log::error!("softgpu: {name} is not implemented");
}

%s""" % "\n".join(stubs))
print("implemented %d of %d entries" % (sum(1 for n, _ in entries if snake(n) in impls), len(entries)))
