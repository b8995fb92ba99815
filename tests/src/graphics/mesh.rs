//! A unit cube as 24 vertices (4 per face, so each face has its own normal) and 36 indices,
//! wound counter-clockwise seen from outside.

/// One vertex of the cube: position, outward normal, face number (0..6), and texture
/// coordinates (each face spans [0, 1]²).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CubeVertex {
    pub pos: [f32; 3],
    pub normal: [f32; 3],
    pub face: usize,
    pub uv: [f32; 2],
}

/// The cube spanning [-1, 1]³: vertices and 16-bit indices of 12 triangles.
pub fn cube() -> (Vec<CubeVertex>, Vec<u16>) {
    // (normal, u, v) with u × v = normal, so (-u-v, u-v, u+v, -u+v) runs counter-clockwise
    // seen from outside.
    const FACES: [[[f32; 3]; 3]; 6] = [
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        [[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]],
        [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]],
        [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
        [[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],
    ];
    let mut vertices = Vec::with_capacity(24);
    let mut indices = Vec::with_capacity(36);
    for (face, [n, u, v]) in FACES.iter().enumerate() {
        let base = vertices.len() as u16;
        for (su, sv) in [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)] {
            let pos = [0, 1, 2].map(|i| n[i] + su * u[i] + sv * v[i]);
            vertices.push(CubeVertex {
                pos,
                normal: *n,
                face,
                uv: [(su + 1.0) / 2.0, (sv + 1.0) / 2.0],
            });
        }
        indices.extend([base, base + 1, base + 2, base, base + 2, base + 3]);
    }
    (vertices, indices)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_triangle_faces_outward() {
        let (v, idx) = cube();
        for t in idx.chunks_exact(3) {
            let [a, b, c] = [0, 1, 2].map(|i| v[t[i] as usize].pos);
            let e1 = [0, 1, 2].map(|i| b[i] - a[i]);
            let e2 = [0, 1, 2].map(|i| c[i] - a[i]);
            let cross = [
                e1[1] * e2[2] - e1[2] * e2[1],
                e1[2] * e2[0] - e1[0] * e2[2],
                e1[0] * e2[1] - e1[1] * e2[0],
            ];
            let n = v[t[0] as usize].normal;
            let dot: f32 = (0..3).map(|i| cross[i] * n[i]).sum();
            assert!(dot > 0.0, "triangle {t:?} winds inward");
        }
    }
}
