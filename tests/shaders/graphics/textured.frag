#version 450
// Samples set 0 binding 0 at the interpolated (u, v) carried in the vertex colour's x and y
// (`color.vert` passes the colour through).
layout(location = 0) in vec4 v_uv;
layout(location = 0) out vec4 frag_color;
layout(set = 0, binding = 0) uniform sampler2D tex;
void main() {
    frag_color = texture(tex, v_uv.xy);
}
