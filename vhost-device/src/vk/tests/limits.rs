//! Per-client caps, each hit on purpose: the command is refused with an error naming the cap
//! (a pipeline creation gets an error `VkResult` in its reply instead), nothing is half
//! created, and what a context held goes back to the client's budget when it is dropped.

use std::sync::Arc;

use protocol::stream::*;

use super::super::limits::{ClientBudget, ClientLimits, Quantity};
use super::super::{vk_result, VkContext};
use super::*;

fn context_with(budget: &Arc<ClientBudget>) -> VkContext {
    VkContext::with_budget(device(), budget.clone(), 1, "limits")
}

fn limits(f: impl FnOnce(&mut ClientLimits)) -> Arc<ClientBudget> {
    let mut l = ClientLimits::default();
    f(&mut l);
    ClientBudget::new(l)
}

fn create_buffer(id: u64) -> Command {
    CreateBuffer {
        id,
        size: 256,
        usage: usage::STORAGE_BUFFER,
    }
    .into()
}

#[test]
fn object_cap_is_shared_by_the_contexts_of_a_client_and_freed_by_destroy() {
    let r = resources();
    let budget = limits(|l| l.max_objects = 3);
    let mut a = context_with(&budget);
    let mut b = context_with(&budget);
    a.submit(&stream(vec![create_buffer(1), create_buffer(2)]), &r)
        .unwrap();
    b.submit(&stream(vec![create_buffer(1)]), &r).unwrap();
    let m = error_of(&mut b, &r, vec![create_buffer(2)]);
    assert!(m.contains("already holds 3 objects"), "{m}");
    assert_eq!(b.live_objects(), 1);
    a.submit(&stream(vec![DestroyBuffer { id: 1 }.into()]), &r)
        .unwrap();
    b.submit(&stream(vec![create_buffer(2)]), &r).unwrap();
    assert_eq!(budget.used(Quantity::Objects), 3);
}

#[test]
fn host_memory_cap_counts_shader_module_bytes() {
    let r = resources();
    let budget = limits(|l| l.max_host_bytes = 12 << 10);
    let mut ctx = context_with(&budget);
    let module = |id| -> Command {
        CreateShaderModule {
            id,
            code: vec![0x0723_0203; 1024],
        }
        .into()
    };
    ctx.submit(&stream(vec![module(1), module(2)]), &r).unwrap();
    let m = error_of(&mut ctx, &r, vec![module(3)]);
    assert!(m.contains("exceed the client's limit 12288"), "{m}");
    ctx.submit(&stream(vec![DestroyShaderModule { id: 1 }.into()]), &r)
        .unwrap();
    ctx.submit(&stream(vec![module(3)]), &r).unwrap();
}

#[test]
fn oversized_shader_module_is_refused() {
    let r = resources();
    let budget = limits(|l| l.max_shader_module_words = 16);
    let mut ctx = context_with(&budget);
    let m = error_of(
        &mut ctx,
        &r,
        vec![CreateShaderModule {
            id: 1,
            code: vec![0; 17],
        }
        .into()],
    );
    assert!(
        m.contains("shader module words 17 exceeds the limit 16"),
        "{m}"
    );
    assert_eq!(budget.used(Quantity::HostBytes), 0);
}

#[test]
fn descriptor_cap_refuses_the_set_that_would_exceed_it() {
    let r = resources();
    let budget = limits(|l| l.max_descriptors = 10);
    let mut ctx = context_with(&budget);
    let layout = CreateDescriptorSetLayout {
        id: 1,
        bindings: vec![DescriptorSetLayoutBinding {
            binding: 0,
            descriptor_type: descriptor_type::STORAGE_BUFFER,
            count: 4,
            stages: STAGE_COMPUTE,
            immutable_samplers: vec![],
        }],
    };
    let set = |id| -> Command { CreateDescriptorSet { id, layout: 1 }.into() };
    ctx.submit(&stream(vec![layout.into(), set(2), set(3)]), &r)
        .unwrap();
    let m = error_of(&mut ctx, &r, vec![set(4)]);
    assert!(m.contains("descriptors"), "{m}");
    assert_eq!(budget.used(Quantity::Descriptors), 8);
    assert_eq!(ctx.live_objects(), 3);
}

#[test]
fn command_buffer_above_the_cap_is_refused_and_its_copy_is_not_kept() {
    let r = resources();
    let budget = limits(|l| l.max_command_buffer_size = 64);
    let mut ctx = context_with(&budget);
    let cmds: Vec<Command> = (0..16)
        .map(|_| {
            CmdDispatch {
                base: [0; 3],
                groups: [0; 3],
            }
            .into()
        })
        .collect();
    let cb = record(&r, cmds);
    assert!(cb.len > 64);
    let m = error_of(&mut ctx, &r, vec![run_only(cb)]);
    assert!(m.contains("command buffer bytes"), "{m}");
    // A small one runs, and its copy is returned to the budget afterwards.
    let small = record(&r, vec![]);
    ctx.submit(&stream(vec![run_only(small)]), &r).unwrap();
    assert_eq!(budget.used(Quantity::HostBytes), 0);
}

#[test]
fn compile_and_object_caps_reach_the_application_as_out_of_host_memory() {
    for budget in [
        limits(|l| l.max_outstanding_compiles = 0),
        // saxpy_setup creates 6 objects before its pipeline.
        limits(|l| l.max_objects = 6),
    ] {
        let r = resources();
        let mut ctx = context_with(&budget);
        ctx.submit(&stream(saxpy_setup(64)), &r).unwrap();
        let reply = reply(&r, 0).unwrap();
        assert_eq!(reply.result, vk_result::ERROR_OUT_OF_HOST_MEMORY);
        assert_eq!(ctx.live_objects(), 6);
        assert_eq!(budget.used(Quantity::Compiles), 0);
    }
}

#[test]
fn huge_shared_array_gives_an_error_reply_and_the_context_goes_on() {
    let r = resources();
    let budget = limits(|_| {});
    let mut ctx = context_with(&budget);
    let huge = spirv_words(
        r#"#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) buffer Io { uint v[]; };
shared uint s[1 << 24];
void main() { s[v[0] + gl_LocalInvocationIndex] = 1u; barrier(); v[1] = s[v[2]]; }
"#,
    );
    let mut setup = saxpy_setup(64);
    setup.push(CreateShaderModule { id: 11, code: huge }.into());
    setup.push(
        CreateComputePipeline {
            id: 31,
            layout: 21,
            module: 11,
            entry: "main".into(),
            spec_map: vec![],
            spec_data: vec![],
            reply: at(REPLIES, 8),
        }
        .into(),
    );
    ctx.submit(&stream(setup), &r).unwrap();
    assert_eq!(reply(&r, 0).unwrap().result, vk_result::SUCCESS);
    assert_ne!(reply(&r, 8).unwrap().result, vk_result::SUCCESS);
    // The good pipeline still runs.
    let cb = record(&r, saxpy_commands(2.0, 64));
    ctx.submit(&stream(vec![run_only(cb)]), &r).unwrap();
}

#[test]
fn a_dropped_context_returns_everything_to_the_client_budget() {
    let r = resources();
    let budget = limits(|_| {});
    let mut ctx = context_with(&budget);
    ctx.submit(&stream(saxpy_setup(64)), &r).unwrap();
    assert_eq!(reply(&r, 0).unwrap().result, vk_result::SUCCESS);
    assert_eq!(budget.used(Quantity::Objects), 7);
    assert!(budget.used(Quantity::HostBytes) > 0);
    assert!(budget.used(Quantity::Descriptors) > 0);
    drop(ctx);
    for q in [
        Quantity::Objects,
        Quantity::HostBytes,
        Quantity::Descriptors,
        Quantity::Compiles,
    ] {
        assert_eq!(budget.used(q), 0, "{q:?}");
    }
}

#[test]
fn exhaustion_errors_map_to_vulkan_results() {
    use super::super::ExecError;
    assert_eq!(
        ExecError::TooManyObjects { limit: 1 }.vk_result(),
        vk_result::ERROR_TOO_MANY_OBJECTS
    );
    let over = ExecError::OverBudget {
        what: "x",
        requested: 1,
        used: 1,
        limit: 1,
    };
    assert_eq!(over.vk_result(), vk_result::ERROR_OUT_OF_HOST_MEMORY);
    assert!(over.is_resource_exhaustion());
    assert!(!ExecError::ZeroId("buffer").is_resource_exhaustion());
}
