//! Invalid input from an application gets an error `VkResult`, and the device stays usable.
#![allow(clippy::unwrap_used)]

mod common;

use ash::vk;

#[test]
fn invalid_spirv_is_an_error_and_the_device_keeps_working() {
    let gpu = common::gpu();
    let d = &gpu.device;
    // A valid header followed by an instruction with an unknown opcode and a bad word count.
    let bad: Vec<u32> = vec![0x0723_0203, 0x0001_0000, 0, 100, 0, 0x0004_ffff, 1, 2, 3];
    let module_info = vk::ShaderModuleCreateInfo::default().code(&bad);
    // SAFETY: live device.
    let module = unsafe { d.create_shader_module(&module_info, None) };
    if let Ok(module) = module {
        // The ICD may accept the words and fail at pipeline creation instead.
        // SAFETY: live device; empty layout.
        let layout =
            unsafe { d.create_pipeline_layout(&vk::PipelineLayoutCreateInfo::default(), None) }
                .unwrap();
        let stage = vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::COMPUTE)
            .module(module)
            .name(c"main");
        let info = [vk::ComputePipelineCreateInfo::default()
            .stage(stage)
            .layout(layout)];
        // SAFETY: live objects.
        let result = unsafe { d.create_compute_pipelines(vk::PipelineCache::null(), &info, None) };
        let err = result.err().map(|(_, e)| e);
        assert!(err.is_some(), "a pipeline from garbage SPIR-V was created");
        // SAFETY: not in use.
        unsafe {
            d.destroy_pipeline_layout(layout, None);
            d.destroy_shader_module(module, None);
        }
    }
    // The same device still runs a real shader.
    let buf = gpu.buffer(4 * 256).unwrap();
    let p = gpu
        .pipeline(&common::shader("saxpy", &[]), 2, 8, &[])
        .unwrap();
    let x = gpu.buffer(4 * 256).unwrap();
    x.write(&[1.0f32; 256]);
    let push: Vec<u8> = 3.0f32
        .to_le_bytes()
        .into_iter()
        .chain(256u32.to_le_bytes())
        .collect();
    gpu.dispatch(&p, &[&x, &buf], &push, [1, 1, 1]).unwrap();
    assert_eq!(buf.read::<f32>(256), vec![3.0; 256]);
}
