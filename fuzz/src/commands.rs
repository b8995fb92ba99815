//! Well-formed softgpu command streams drawn from the fuzzer's bytes: every command of
//! `protocol::stream` with fields from [`crate::arb_serde`], object ids from a small set so
//! that commands refer to each other.

use arbitrary::Unstructured;
use protocol::stream::*;
use serde::de::DeserializeOwned;

use crate::arb_serde::arbitrary_value;

fn field<T: DeserializeOwned>(u: &mut Unstructured<'_>) -> arbitrary::Result<T> {
    arbitrary_value(u).map_err(|_| arbitrary::Error::IncorrectFormat)
}

/// An object id: mostly 1..=4 (so creates, uses and destroys meet), sometimes 0 or any.
fn id(u: &mut Unstructured<'_>) -> arbitrary::Result<u64> {
    Ok(match u.int_in_range(0u8..=7)? {
        0 => 0,
        1 => u.arbitrary()?,
        n => u64::from(n - 1),
    })
}

/// One command of any kind.
pub fn arbitrary_command(u: &mut Unstructured<'_>) -> arbitrary::Result<Command> {
    // Each arm fixes the ids the command names to the small set, then keeps arbitrary fields.
    Ok(match u.int_in_range(0u8..=24)? {
        0 => CreateBuffer {
            id: id(u)?,
            ..field(u)?
        }
        .into(),
        1 => DestroyBuffer { id: id(u)? }.into(),
        2 => BindBufferMemory {
            buffer: id(u)?,
            ..field(u)?
        }
        .into(),
        3 => CreateShaderModule {
            id: id(u)?,
            ..field(u)?
        }
        .into(),
        4 => DestroyShaderModule { id: id(u)? }.into(),
        5 => CreateDescriptorSetLayout {
            id: id(u)?,
            ..field(u)?
        }
        .into(),
        6 => DestroyDescriptorSetLayout { id: id(u)? }.into(),
        7 => CreatePipelineLayout {
            id: id(u)?,
            set_layouts: vec![id(u)?],
            ..field(u)?
        }
        .into(),
        8 => DestroyPipelineLayout { id: id(u)? }.into(),
        9 => CreateDescriptorSet {
            id: id(u)?,
            layout: id(u)?,
        }
        .into(),
        10 => DestroyDescriptorSet { id: id(u)? }.into(),
        11 => WriteDescriptorSet {
            set: id(u)?,
            ..field(u)?
        }
        .into(),
        12 => CopyDescriptorSet {
            src_set: id(u)?,
            dst_set: id(u)?,
            ..field(u)?
        }
        .into(),
        13 => CreateComputePipeline {
            id: id(u)?,
            layout: id(u)?,
            module: id(u)?,
            entry: "main".into(),
            ..field(u)?
        }
        .into(),
        14 => DestroyPipeline { id: id(u)? }.into(),
        15 => Command::Submit(field(u)?),
        16 => CmdBindComputePipeline { pipeline: id(u)? }.into(),
        17 => CmdBindDescriptorSets {
            layout: id(u)?,
            sets: vec![id(u)?],
            ..field(u)?
        }
        .into(),
        18 => CmdPushConstants {
            layout: id(u)?,
            ..field(u)?
        }
        .into(),
        19 => Command::CmdDispatch(field(u)?),
        20 => CmdDispatchIndirect {
            buffer: id(u)?,
            ..field(u)?
        }
        .into(),
        21 => CmdCopyBuffer {
            src: id(u)?,
            dst: id(u)?,
            ..field(u)?
        }
        .into(),
        22 => CmdFillBuffer {
            dst: id(u)?,
            ..field(u)?
        }
        .into(),
        23 => CmdUpdateBuffer {
            dst: id(u)?,
            ..field(u)?
        }
        .into(),
        _ => match u.int_in_range(0u8..=2)? {
            0 => Command::CmdWriteTimestamp(field(u)?),
            1 => Command::CmdWriteGuestU32(field(u)?),
            _ => Command::CmdWaitGuestU32(field(u)?),
        },
    })
}

/// Up to `max` commands.
pub fn arbitrary_commands(u: &mut Unstructured<'_>, max: u32) -> arbitrary::Result<Vec<Command>> {
    let n = u.int_in_range(0..=max)?;
    let mut out = Vec::new();
    for _ in 0..n {
        if u.is_empty() {
            break;
        }
        out.push(arbitrary_command(u)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_streams_encode_and_decode_back() {
        let bytes: Vec<u8> = (1..=4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut u = Unstructured::new(&bytes);
        let cmds = arbitrary_commands(&mut u, 64).unwrap_or_else(|e| panic!("{e}"));
        assert!(cmds.len() > 4, "only {} commands", cmds.len());
        let stream = encode_all(&cmds).unwrap_or_default();
        assert_eq!(decode_all(&stream), Ok(cmds));
    }
}
