#version 450
// Samples the cube map at set 0 binding 0 along the interpolated direction carried in the
// vertex colour's x, y and z (`color.vert` passes the colour through).
layout(location = 0) in vec4 v_dir;
layout(location = 0) out vec4 frag_color;
layout(set = 0, binding = 0) uniform samplerCube tex;
void main() {
    frag_color = textureLod(tex, v_dir.xyz, 0.0);
}
