//! The device's per-client caps, mirrored by the ICD (`crate::object_caps`): against a mock
//! that enforces them as vhost-device does — a create past a cap fails the submission and
//! loses the device — creation past a cap fails at once with the code the command allows,
//! nothing is sent for it, destruction makes room again, and the device is never lost.

use super::mock::MockTransport;
use super::{ctx_with, device_survives, spirv, Ctx};
use crate::transport::{Transport, TransportError};
use ash::vk::{self, Handle};
use protocol::stream as wire;
use protocol::{ClientCaps, Command};

fn caps(objects: u64, descriptors: u64, module_words: u64) -> ClientCaps {
    ClientCaps {
        max_objects: Some(objects),
        max_descriptors: Some(descriptors),
        max_shader_module_words: Some(module_words),
    }
}

fn create_buffer(c: &Ctx) -> Result<vk::Buffer, vk::Result> {
    // SAFETY: valid create info.
    unsafe {
        c.device.create_buffer(
            &vk::BufferCreateInfo::default()
                .size(256)
                .usage(vk::BufferUsageFlags::STORAGE_BUFFER),
            None,
        )
    }
}

/// Top-level commands the mock device received that `pick` selects.
fn sent(c: &Ctx, pick: impl Fn(&Command) -> bool) -> usize {
    c.mock
        .top
        .lock()
        .unwrap()
        .iter()
        .filter(|c| pick(c))
        .count()
}

#[test]
fn the_mock_device_loses_the_context_past_its_cap() {
    // What the ICD's mirroring prevents: the device itself refuses the create, and the
    // whole submission fails.
    let mock = MockTransport::with_caps(caps(1, 100, 100));
    let mut stream = Vec::new();
    for id in [1, 2] {
        let cmd = Command::from(wire::CreateBuffer {
            id,
            size: 16,
            usage: 0,
        });
        protocol::encode_command(&cmd, &mut stream).unwrap();
    }
    assert!(matches!(
        mock.submit(&stream),
        Err(TransportError::DeviceLost(_))
    ));
}

#[test]
fn objects_past_the_cap_are_refused_at_once_and_never_sent() {
    let c = ctx_with(MockTransport::with_caps(caps(3, 100, 100)));
    let buffers: Vec<vk::Buffer> = (0..3).map(|_| create_buffer(&c).unwrap()).collect();
    assert_eq!(
        create_buffer(&c).err(),
        Some(vk::Result::ERROR_OUT_OF_HOST_MEMORY)
    );
    device_survives(&c);
    let is_create = |cmd: &Command| matches!(cmd, Command::CreateBuffer(_));
    assert_eq!(sent(&c, is_create), 3, "the refused create was not sent");
    assert_eq!(c.mock.count.lock().unwrap().objects, 3);

    // Destroying one makes room for one.
    // SAFETY: a buffer of this device, not used again.
    unsafe { c.device.destroy_buffer(buffers[0], None) };
    let again = create_buffer(&c).unwrap();
    assert_eq!(
        create_buffer(&c).err(),
        Some(vk::Result::ERROR_OUT_OF_HOST_MEMORY)
    );
    device_survives(&c);
    assert_eq!(sent(&c, is_create), 4);
    assert_eq!(c.mock.count.lock().unwrap().objects, 3);
    // SAFETY: buffers of this device, not used again.
    unsafe {
        for b in [again, buffers[1], buffers[2]] {
            c.device.destroy_buffer(b, None);
        }
    }
    device_survives(&c);
    assert_eq!(c.mock.count.lock().unwrap().objects, 0);
}

/// A set layout with one storage-buffer binding of `count` descriptors.
fn set_layout(c: &Ctx, count: u32) -> vk::DescriptorSetLayout {
    let bindings = [vk::DescriptorSetLayoutBinding::default()
        .binding(0)
        .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
        .descriptor_count(count)
        .stage_flags(vk::ShaderStageFlags::COMPUTE)];
    // SAFETY: valid create info.
    unsafe {
        c.device.create_descriptor_set_layout(
            &vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings),
            None,
        )
    }
    .unwrap()
}

#[test]
fn descriptor_sets_past_the_descriptor_cap_fail_whole_with_null_handles() {
    let c = ctx_with(MockTransport::with_caps(caps(100, 5, 100)));
    let d = &c.device;
    let dsl = set_layout(&c, 2);
    // SAFETY: valid create infos and handles of this device throughout.
    unsafe {
        let pool = d
            .create_descriptor_pool(
                &vk::DescriptorPoolCreateInfo::default()
                    .max_sets(10)
                    .flags(vk::DescriptorPoolCreateFlags::FREE_DESCRIPTOR_SET),
                None,
            )
            .unwrap();
        let two = [dsl; 2];
        let first = d
            .allocate_descriptor_sets(
                &vk::DescriptorSetAllocateInfo::default()
                    .descriptor_pool(pool)
                    .set_layouts(&two),
            )
            .unwrap();
        // 4 of 5 descriptors held: two more sets (4 descriptors) do not fit, and the one
        // that would have fit is not created either.
        let mut out = [vk::DescriptorSet::from_raw(0xdead); 2];
        let info = vk::DescriptorSetAllocateInfo::default()
            .descriptor_pool(pool)
            .set_layouts(&two);
        let r = (d.fp_v1_0().allocate_descriptor_sets)(d.handle(), &info, out.as_mut_ptr());
        assert_eq!(r, vk::Result::ERROR_OUT_OF_HOST_MEMORY);
        assert_eq!(out, [vk::DescriptorSet::null(); 2]);
        device_survives(&c);
        let is_create = |cmd: &Command| matches!(cmd, Command::CreateDescriptorSet(_));
        assert_eq!(sent(&c, is_create), 2);
        assert_eq!(c.mock.count.lock().unwrap().descriptors, 4);

        // Freeing a set returns its descriptors.
        d.free_descriptor_sets(pool, &first[..1]).unwrap();
        let one = [dsl];
        let more = d
            .allocate_descriptor_sets(
                &vk::DescriptorSetAllocateInfo::default()
                    .descriptor_pool(pool)
                    .set_layouts(&one),
            )
            .unwrap();
        assert_eq!(more.len(), 1);
        device_survives(&c);
        assert_eq!(c.mock.count.lock().unwrap().descriptors, 4);

        // Destroying the pool frees the rest.
        d.destroy_descriptor_pool(pool, None);
        d.destroy_descriptor_set_layout(dsl, None);
        device_survives(&c);
        let n = c.mock.count.lock().unwrap();
        assert_eq!((n.objects, n.descriptors), (0, 0));
    }
}

fn compute_pipeline(
    c: &Ctx,
    module: vk::ShaderModule,
    layout: vk::PipelineLayout,
) -> Result<vk::Pipeline, vk::Result> {
    let stage = vk::PipelineShaderStageCreateInfo::default()
        .stage(vk::ShaderStageFlags::COMPUTE)
        .module(module)
        .name(c"main");
    // SAFETY: valid create info; handles of this device.
    unsafe {
        c.device.create_compute_pipelines(
            vk::PipelineCache::null(),
            &[vk::ComputePipelineCreateInfo::default()
                .stage(stage)
                .layout(layout)],
            None,
        )
    }
    .map(|p| p[0])
    .map_err(|(p, e)| {
        assert_eq!(p, vec![vk::Pipeline::null()]);
        e
    })
}

#[test]
fn pipelines_count_and_past_the_cap_are_refused_before_compiling() {
    let c = ctx_with(MockTransport::with_caps(caps(3, 100, 100)));
    let d = &c.device;
    let code = spirv(1);
    // SAFETY: valid create infos and handles of this device throughout.
    unsafe {
        let module = d
            .create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&code), None)
            .unwrap();
        let layout = d
            .create_pipeline_layout(&vk::PipelineLayoutCreateInfo::default(), None)
            .unwrap();
        let p = compute_pipeline(&c, module, layout).unwrap();
        // Module, layout and pipeline fill the cap.
        assert_eq!(
            compute_pipeline(&c, module, layout).err(),
            Some(vk::Result::ERROR_OUT_OF_HOST_MEMORY)
        );
        assert_eq!(
            create_buffer(&c).err(),
            Some(vk::Result::ERROR_OUT_OF_HOST_MEMORY)
        );
        let is_create = |cmd: &Command| matches!(cmd, Command::CreateComputePipeline(_));
        assert_eq!(sent(&c, is_create), 1, "the refused pipeline was not sent");
        device_survives(&c);

        d.destroy_pipeline(p, None);
        let p = compute_pipeline(&c, module, layout).unwrap();
        device_survives(&c);
        assert_eq!(c.mock.count.lock().unwrap().objects, 3);
        d.destroy_pipeline(p, None);
        d.destroy_pipeline_layout(layout, None);
        d.destroy_shader_module(module, None);
        device_survives(&c);
        assert_eq!(c.mock.count.lock().unwrap().objects, 0);
    }
}

#[test]
fn a_pipeline_the_device_refuses_gives_its_object_back() {
    let c = ctx_with(MockTransport::with_caps(caps(3, 100, 100)));
    let d = &c.device;
    let bad = spirv(super::mock::BAD_SPIRV_MARKER);
    // SAFETY: valid create infos and handles of this device throughout.
    unsafe {
        let module = d
            .create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&bad), None)
            .unwrap();
        let layout = d
            .create_pipeline_layout(&vk::PipelineLayoutCreateInfo::default(), None)
            .unwrap();
        for _ in 0..3 {
            assert_eq!(
                compute_pipeline(&c, module, layout).err(),
                Some(vk::Result::ERROR_INITIALIZATION_FAILED)
            );
        }
        // The failed pipelines hold nothing: the third object still fits.
        let b = create_buffer(&c).unwrap();
        device_survives(&c);
        assert_eq!(c.mock.count.lock().unwrap().objects, 3);
        d.destroy_buffer(b, None);
        d.destroy_pipeline_layout(layout, None);
        d.destroy_shader_module(module, None);
    }
}

#[test]
fn a_shader_module_past_the_size_cap_is_refused_before_sending() {
    let c = ctx_with(MockTransport::with_caps(caps(100, 100, 6)));
    let d = &c.device;
    let mut code = spirv(1);
    // SAFETY: valid create infos; handles of this device.
    unsafe {
        let small = d
            .create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&code), None)
            .unwrap();
        code.extend([0, 0]);
        let r = d.create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&code), None);
        assert_eq!(r.err(), Some(vk::Result::ERROR_OUT_OF_HOST_MEMORY));
        device_survives(&c);
        let is_create = |cmd: &Command| matches!(cmd, Command::CreateShaderModule(_));
        assert_eq!(sent(&c, is_create), 1);
        d.destroy_shader_module(small, None);
    }
}

#[test]
fn a_device_without_caps_refuses_nothing() {
    // An older device's capset: no caps known, none mirrored.
    let c = ctx_with(MockTransport::new());
    let buffers: Vec<vk::Buffer> = (0..64).map(|_| create_buffer(&c).unwrap()).collect();
    device_survives(&c);
    // SAFETY: buffers of this device, not used again.
    unsafe {
        for b in buffers {
            c.device.destroy_buffer(b, None);
        }
    }
    device_survives(&c);
}

/// A second VkDevice on `c`'s physical device: the same process, so the same transport.
fn second_device(c: &Ctx) -> ash::Device {
    let prio = [1.0];
    let queues = [vk::DeviceQueueCreateInfo::default()
        .queue_family_index(0)
        .queue_priorities(&prio)];
    // SAFETY: valid create info; the physical device of `c`'s live instance.
    unsafe {
        c.instance.create_device(
            c.pd,
            &vk::DeviceCreateInfo::default().queue_create_infos(&queues),
            None,
        )
    }
    .unwrap()
}

fn buffer_on(d: &ash::Device) -> Result<vk::Buffer, vk::Result> {
    // SAFETY: valid create info.
    unsafe {
        d.create_buffer(
            &vk::BufferCreateInfo::default()
                .size(256)
                .usage(vk::BufferUsageFlags::STORAGE_BUFFER),
            None,
        )
    }
}

#[test]
fn the_vkdevices_of_a_process_share_the_clients_object_cap() {
    // The device counts per client (one connection); every VkDevice of this process is on it.
    let c = ctx_with(MockTransport::with_caps(caps(3, 100, 100)));
    let other = second_device(&c);
    let a = [create_buffer(&c).unwrap(), create_buffer(&c).unwrap()];
    let b = buffer_on(&other).unwrap();
    assert_eq!(
        buffer_on(&other).err(),
        Some(vk::Result::ERROR_OUT_OF_HOST_MEMORY)
    );
    assert_eq!(
        create_buffer(&c).err(),
        Some(vk::Result::ERROR_OUT_OF_HOST_MEMORY)
    );
    // A destroy queued on one VkDevice frees nothing for another until it is sent: the other's
    // stream could reach the device first.
    // SAFETY: a buffer of `c`, not used again.
    unsafe { c.device.destroy_buffer(a[0], None) };
    assert_eq!(
        buffer_on(&other).err(),
        Some(vk::Result::ERROR_OUT_OF_HOST_MEMORY)
    );
    device_survives(&c);
    let b2 = buffer_on(&other).unwrap();
    // SAFETY: `other` is idle before it goes; its buffers are not used again.
    unsafe {
        other.device_wait_idle().unwrap();
        assert_eq!(c.mock.count.lock().unwrap().objects, 3);
        other.destroy_buffer(b, None);
        other.destroy_buffer(b2, None);
        other.destroy_device(None);
        c.device.destroy_buffer(a[1], None);
    }
    device_survives(&c);
    assert_eq!(c.mock.count.lock().unwrap().objects, 0);
    assert_eq!(c.mock.client().holding().0.objects, 0);
}

#[test]
fn a_vkdevice_destroyed_with_live_objects_leaves_them_counted_as_the_device_does() {
    // The objects stay in the client's context on the device; the next VkDevice of the
    // process meets the cap they hold.
    let c = ctx_with(MockTransport::with_caps(caps(2, 100, 100)));
    let other = second_device(&c);
    buffer_on(&other).unwrap();
    // SAFETY: `other` is not used again (its buffer is leaked on purpose).
    unsafe { other.destroy_device(None) };
    create_buffer(&c).unwrap();
    assert_eq!(
        create_buffer(&c).err(),
        Some(vk::Result::ERROR_OUT_OF_HOST_MEMORY)
    );
    device_survives(&c);
    assert_eq!(c.mock.count.lock().unwrap().objects, 2);
}

fn allocate(d: &ash::Device, size: u64) -> Result<vk::DeviceMemory, vk::Result> {
    // SAFETY: valid allocate info.
    unsafe {
        d.allocate_memory(
            &vk::MemoryAllocateInfo::default()
                .allocation_size(size)
                .memory_type_index(0),
            None,
        )
    }
}

#[test]
fn device_memory_past_the_budget_fails_at_once_and_the_device_never_sees_it() {
    let mut capset = super::mock::capset();
    capset.device_memory_budget = 8 << 20;
    let c = ctx_with(MockTransport::with_capset(capset));
    let other = second_device(&c);
    let a = allocate(&c.device, 3 << 20).unwrap();
    let b = allocate(&other, 3 << 20).unwrap();
    // 6 MiB and the devices' reply slots are held: 3 more MiB are past the budget, from
    // either VkDevice (the budget is the client's).
    assert_eq!(
        allocate(&c.device, 3 << 20).err(),
        Some(vk::Result::ERROR_OUT_OF_DEVICE_MEMORY)
    );
    assert_eq!(
        allocate(&other, 3 << 20).err(),
        Some(vk::Result::ERROR_OUT_OF_DEVICE_MEMORY)
    );
    let held = c.mock.block_bytes.load(std::sync::atomic::Ordering::SeqCst);
    assert!(held <= 8 << 20, "the device was asked for {held} bytes");
    assert_eq!(c.mock.client().holding().1, held, "the account is exact");
    // Freeing makes room again.
    // SAFETY: memory of these devices, not used again.
    unsafe { other.free_memory(b, None) };
    let b = allocate(&c.device, 3 << 20).unwrap();
    device_survives(&c);
    // SAFETY: as above; `other` is idle.
    unsafe {
        c.device.free_memory(a, None);
        c.device.free_memory(b, None);
        other.destroy_device(None);
    }
    let held = c.mock.block_bytes.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(c.mock.client().holding().1, held);
}
