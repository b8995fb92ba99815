#version 450
// Samples the cube-map array at set 0 binding 0 (imageCubeArray) along the interpolated
// direction in the vertex colour's x, y, z; w packs the cube (w mod 2) and a code
// (floor(w / 2)). MODE 0: implicit LOD; MODE 1: explicit LOD code × 0.5; MODE 2: gather of
// red (code 0) or blue (code 1). A view whose size query is not 16×16 (level 0) and 8×8
// (level 1) with 2 cubes paints magenta.
layout(location = 0) in vec4 v_dir;
layout(location = 0) out vec4 frag_color;
layout(set = 0, binding = 0) uniform samplerCubeArray tex;
void main() {
    float w = round(v_dir.w);
    float cube = mod(w, 2.0);
    float code = floor(w / 2.0);
    vec4 c = vec4(v_dir.xyz, cube);
#if MODE == 0
    frag_color = texture(tex, c);
#elif MODE == 1
    frag_color = textureLod(tex, c, code * 0.5);
#else
    frag_color = code == 0.0 ? textureGather(tex, c, 0) : textureGather(tex, c, 2);
#endif
    if (textureSize(tex, 0) != ivec3(16, 16, 2) || textureSize(tex, 1) != ivec3(8, 8, 2)) {
        frag_color = vec4(1.0, 0.0, 1.0, 1.0);
    }
}
