#version 450
// textureGather of one component (issue 7): the four texels of the bilinear footprint as
// (i0j1, i1j1, i1j0, i0j0); COMPONENT is defined by the scene (0 by default).
#ifndef COMPONENT
#define COMPONENT 0
#endif
layout(location = 0) in vec4 v_uv;
layout(location = 0) out vec4 frag_color;
layout(set = 0, binding = 0) uniform sampler2D tex;
void main() {
    frag_color = textureGather(tex, v_uv.xy, COMPONENT);
}
