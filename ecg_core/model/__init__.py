"""Mllama (Llama 3.2 Vision): loading (`load`), the tiny local checkpoint (`tiny`), LoRA and partial tuning
(`lora`, `partial`), the training collator (`collator`) and a page's tiles (`page_tiles`).

Import from the module itself: this package imports nothing, so a light one (`page_tiles`, for a training's preflight
in the flow process) does not bring the model code and peft with it."""
