#version 450
// Reads the texel under the fragment (texelFetch, level 0) of set 0 binding 0.
layout(location = 0) in vec4 v_color;
layout(location = 0) out vec4 frag_color;
layout(set = 0, binding = 0) uniform sampler2D tex;
void main() {
    frag_color = texelFetch(tex, ivec2(gl_FragCoord.xy), 0);
}
